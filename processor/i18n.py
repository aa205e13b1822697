"""Words in the record's two languages: fixed ones that plug-ins carry (``Localized``) and
free texts of the rules, written once (``text``) or per language (``{en: …, de: …}``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

Lang = Literal["en", "de"]
LANGS: tuple[Lang, ...] = ("en", "de")


@dataclass(frozen=True)
class Localized:
    """A fixed word or phrase in every language of the record; `backticks` mark identifiers
    of the rules in it (a domain, a key id), which the record prints as code."""

    en: str
    de: str

    def __str__(self) -> str:
        return self.en

    def __call__(self, lang: str) -> str:
        return str(getattr(self, lang, self.en))


def _one_text_per_language(value: str | dict[str, str]) -> str | dict[str, str]:
    if isinstance(value, dict) and (not value or not all(v.strip() for v in value.values())):
        raise ValueError("give a non-empty text for each language")
    return value


#: a rule's free text: one string (the language it is written in), or one per language
Text = Annotated[str | dict[Lang, str], AfterValidator(_one_text_per_language)]


def text(value: Any, lang: str) -> str:
    """The text in ``lang``; a text written once, or missing ``lang``, as written (English first)."""
    if isinstance(value, Localized):
        return value(lang)
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def translated(value: Any, lang: str) -> bool:
    """Whether the text has a version in ``lang``: a single string counts as English."""
    if isinstance(value, Localized) or not value:
        return True
    if isinstance(value, dict):
        return lang in value
    return lang == "en"
