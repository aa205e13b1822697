"""email_domain: keep only the domain of an e-mail address (``max@firma.de`` → ``firma.de``)."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action
from processor.actions.registry import register
from processor.formats import postgres_types as pt
from processor.i18n import Localized


@register
class EmailDomain(Action):
    name = "email_domain"
    reveals = "part"
    described = Localized("reduced to the e-mail domain", "auf die E-Mail-Domain reduziert")
    reads = frozenset({pt.TEXT})

    def apply(self, value: Any) -> Any:
        if not isinstance(value, str):
            return None
        _, at, domain = value.rpartition("@")
        return domain.strip().lower() if at and domain else None

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "email_domain"}
