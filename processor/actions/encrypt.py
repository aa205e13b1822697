"""encrypt: reversible for whoever holds the KEK, per data subject, shredded with the subject.

AES-SIV under the row's subject's data key (processor/subjects/datakeys.py): deterministic, so
equal values of one subject encrypt alike (joins, compaction), while the same value of two
subjects does not. BI sees ``enc:<domain>:<data key id>:<…>``; ``crm-masker reveal`` opens it
with the KEK file, until the subject's erasure destroys the data key.
"""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action, ActionParams, CompileContext, SubjectScope
from processor.actions.registry import register
from processor.datakeys import seal
from processor.errors import KeyFileError
from processor.i18n import Localized

FROM_SCOPE = object()


class EncryptParams(ActionParams):
    #: associated data of the ciphertext: the same value in two domains (phone, mobile) of
    #: one subject encrypts differently
    domain: str


@register
class Encrypt(Action):
    name = "encrypt"
    params_model = EncryptParams
    per_subject = True
    safe_for_special = False  # reversible by design: an Art. 9 value stays readable to some

    def __init__(self, params: EncryptParams, ctx: CompileContext) -> None:
        super().__init__(params, ctx)
        self._domain = params.domain
        self._scope: SubjectScope | None = ctx.subject
        self._keys = ctx.data_keys

    def apply(self, value: Any, subject: Any = FROM_SCOPE) -> Any:
        """``subject``: the row's subject as the native core passes it (the Python engine's
        plans set it on the scope instead)."""
        if value is None:
            return None
        if self._keys is None or self._scope is None:
            raise KeyFileError("encrypt was compiled without data keys (no KEK file)")
        if subject is FROM_SCOPE:
            subject = self._scope.value
        if subject is None:  # no subject, no key that an erasure could destroy: publish nothing
            return None
        key_id, data_key = self._keys.data_key(self._scope.domain, subject)
        return seal(data_key, self._domain, key_id, value)

    def data_key(self, subject: Any) -> tuple[str, bytes] | None:
        """The id and the data key of the row's subject (None: no subject), for the core."""
        if subject is None or self._keys is None or self._scope is None:
            return None
        return self._keys.data_key(self._scope.domain, subject)

    def native_spec(self) -> dict[str, Any] | None:
        # the core seals texts itself with the key that ``data_key`` gives (the key store
        # stays here: it makes, wraps and shreds keys with the transaction); other values
        # come to ``apply`` with their row's subject
        if self._keys is None:
            return None
        return {"kind": "encrypt", "domain": self._domain, "data_key": self.data_key}

    def measure(self) -> Localized:
        subject = self.ctx.subject.domain if self.ctx.subject else "?"
        return Localized(
            f"encrypted per data subject (`{subject}`; AES-SIV under the subject's own data "
            "key, wrapped with the KEK): revealed only with the KEK file, unreadable once the "
            "subject is erased",
            f"je betroffener Person (`{subject}`) verschlüsselt (AES-SIV unter dem eigenen "
            "Datenschlüssel der Person, mit dem KEK umhüllt): offenzulegen nur mit der "
            "KEK-Datei, nach der Löschung der Person unlesbar")
