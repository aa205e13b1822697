"""pseudonymize: keyed HMAC-SHA256, deterministic per key and domain, tagged with the key id.

``contacts.id`` and ``contracts.contact_id`` share the domain ``contact`` and so map to the
same pseudonym: BI joins still work, but without the key nobody can test a guess (a phone
number, an e-mail address) against a pseudonym, as they could with a plain hash.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Literal

from processor.actions.base import Action, ActionParams, CompileContext
from processor.actions.registry import register
from processor.errors import KeyFileError
from processor.i18n import Localized
from processor.keys import canonical_bytes, domain_key

CACHE_SIZE = 65_536
Normalizer = Literal["strip", "lower", "upper", "compact", "digits"]


class PseudonymizeParams(ActionParams):
    domain: str
    #: applied before hashing so that "Max@Example.de " and "max@example.de" match
    normalize: tuple[Normalizer, ...] = ()
    #: hex characters of the HMAC kept (128 bits by default)
    length: int = 32


@register
class Pseudonymize(Action):
    name = "pseudonymize"
    stable_for_keys = True
    params_model = PseudonymizeParams

    def __init__(self, params: PseudonymizeParams, ctx: CompileContext) -> None:
        super().__init__(params, ctx)
        # without keys (validate, report) the action can describe itself but not apply
        self._key = domain_key(ctx.keys.secret(ctx.key_id), params.domain) if ctx.keys else b""
        self._prefix = ctx.key_id + ":"
        self._length = params.length
        self._normalize = list(params.normalize)
        self._normalizers = [_NORMALIZERS[n] for n in params.normalize]
        self._cache: dict[Any, str] = {}
        self._domain = params.domain

    def apply(self, value: Any) -> Any:
        if value is None:
            return None
        if not self._key:
            raise KeyFileError("pseudonymize was compiled without keys")
        cached = self._cache.get(value) if type(value) in (str, int) else None
        if cached is not None:
            return cached
        if isinstance(value, str):
            text = value
            for normalize in self._normalizers:
                text = normalize(text)
            data = text.encode("utf-8", "surrogatepass")
        else:
            data = canonical_bytes(value)
        pseudonym = self._prefix + hmac.digest(self._key, data, "sha256").hex()[: self._length]
        if type(value) in (str, int):  # hashable, and True/1 must not share an entry
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[value] = pseudonym
        return pseudonym

    def native_spec(self) -> dict[str, Any] | None:
        if not self._key:
            return None
        return {"kind": "pseudonymize", "key_hex": self._key.hex(), "prefix": self._prefix,
                "length": self._length, "normalize": self._normalize}

    def measure(self) -> Localized:
        return Localized(
            f"pseudonymised (HMAC-SHA256, key `{self.ctx.key_id}`, domain `{self._domain}`)",
            f"pseudonymisiert (HMAC-SHA256, Schlüssel `{self.ctx.key_id}`, "
            f"Domäne `{self._domain}`)")


_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "strip": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "compact": lambda text: "".join(text.split()),
    "digits": lambda text: "".join(ch for ch in text if ch.isdigit()),
}
