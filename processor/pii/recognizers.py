"""One small recognizer per kind of identifier, behind a registry.

Each finds candidate spans with a cheap regular expression (``pattern``) and confirms them
with a real validator (``confirm``: python-stdnum checksums, phonenumbers), so an order number
is not taken for an IBAN. Used by the ``scrub`` action and by the leak watch on the outputs.
The native core runs the same patterns and calls the same ``confirm`` on its candidates.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import ClassVar

import phonenumbers
from stdnum import iban, luhn
from stdnum.at import vnr
from stdnum.ch import ssn as ahv
from stdnum.de import idnr, stnr

from processor.i18n import Localized
from processor.pii.first_names import AMBIGUOUS, FIRST_NAMES, MIDDLE_NAMES
from processor.pii.names import NameLexicon
from processor.pii.normalize import normalize

Span = tuple[int, int]
SEPARATORS = " -./"  # inside an IBAN, a card, a tax id
#: confirmed candidates remembered per recognizer: the same IBAN or phone number turns up in
#: many notes and in more than one view, and a validator call costs 5–25 µs
CONFIRM_CACHE_SIZE = 65_536


#: a word boundary read in ASCII, for the detectors of numbers. A Unicode ``\b`` sends the
#: core's regex engine from its DFA to a slow one on any text with a non-ASCII character (most
#: German notes): the phone pattern took 3.3 µs per note of the reference mix that way, 0.1
#: with this. It also finds a number glued to an umlaut (``Rückrufnr.ü0301234567``). This is
#: Python's spelling; the core's is ``NUMBER_EDGE_IN_RUST`` (``for_the_core`` swaps them).
NUMBER_EDGE, NUMBER_EDGE_IN_RUST = r"(?a:\b)", r"(?-u:\b)"


def _number_edges(pattern: str) -> str:
    """``pattern`` with each ``\b`` read in ASCII."""
    return pattern.replace(r"\b", NUMBER_EDGE)


def for_the_core(pattern: str) -> str:
    """A recognizer's pattern as the core's regex engine spells it."""
    return pattern.replace(NUMBER_EDGE, NUMBER_EDGE_IN_RUST)


class Recognizer:
    kind: ClassVar[str]
    #: what a finding is called in the replacement (``[{kind}]``): the kind, upper-cased
    label: ClassVar[str] = ""
    #: what the record of processing activities calls the findings (plural, per language)
    shown_as: ClassVar[Localized]
    #: found by ``pattern`` and ``confirm`` (else by the known names, see ``find_all``)
    by_pattern: ClassVar[bool] = True
    #: candidates; every match is a finding unless ``confirm`` says otherwise
    pattern: ClassVar[re.Pattern[str]]
    #: a text without this substring cannot hold a finding (a shortcut, not a rule)
    required: ClassVar[str | None] = None
    #: likewise, a text without a match of this pattern (the salutations: one scan for all)
    required_any: ClassVar[re.Pattern[str] | None] = None
    #: the digits (`\d`) that every match of ``pattern`` holds at least (a shortcut for the core)
    min_digits: ClassVar[int] = 0
    #: ``confirm`` answers the whole match or None, never a narrower span: the core then asks
    #: only about candidates that no earlier finding covers
    whole: ClassVar[bool] = True

    def __init__(self) -> None:
        self._confirmed: dict[str, Span | None] = {}

    def confirm(self, candidate: str) -> Span | None:
        """The finding's span within a candidate match, or None: not one."""
        return 0, len(candidate)

    @property
    def validates(self) -> bool:
        """Whether ``confirm`` checks anything (else every match is a finding, no call needed)."""
        return type(self).confirm is not Recognizer.confirm

    def confirmed(self, candidate: str) -> Span | None:
        """``confirm``, remembered (validators are deterministic)."""
        if not self.validates:
            return 0, len(candidate)
        try:
            return self._confirmed[candidate]
        except KeyError:
            pass
        span = self.confirm(candidate)
        if len(self._confirmed) >= CONFIRM_CACHE_SIZE:
            self._confirmed.clear()
        self._confirmed[candidate] = span
        return span

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        """The pattern's candidates, in order, not overlapping."""
        return self.pattern.finditer(text)

    def find(self, text: str) -> Iterator[Span]:
        """Spans (start, end) of confirmed findings in ``text``."""
        if self.required is not None and self.required not in text:
            return
        if self.required_any is not None and self.required_any.search(text) is None:
            return
        if self.whole:
            for m in self.matches(text):
                span = self.confirmed(m.group(0))
                if span is not None:
                    yield m.start() + span[0], m.start() + span[1]
            return
        pos = 0
        while (found := self.pattern.search(text, pos)) is not None:
            start, end = found.span()
            span = self.confirmed(found.group(0))
            pos = end if end > start else end + 1  # (no pattern matches empty)
            if span is not None:
                yield start + span[0], start + span[1]
                # a finding cut short: the words after it may begin a candidate of their own
                # (``i. A. Wilfried Kontoinhaber Ingrid Kowalczyk``: the first name's candidate
                # ran to Ingrid); the core searches on from there too
                if 0 < span[1] < end - start:
                    pos = start + span[1]


_RECOGNIZERS: dict[str, Recognizer] = {}


def register(cls: type[Recognizer]) -> type[Recognizer]:
    cls.label = cls.label or cls.kind.upper()
    _RECOGNIZERS[cls.kind] = cls()
    return cls


def recognizer_kinds() -> list[str]:
    return list(_RECOGNIZERS)


def recognizer(kind: str) -> Recognizer:
    return _RECOGNIZERS[kind]


def forget_confirmed() -> None:
    """Empty the recognizers' caches (benchmarks start each run cold)."""
    for found in _RECOGNIZERS.values():
        found._confirmed.clear()


def _compact(candidate: str) -> tuple[str, list[int]]:
    """The candidate without separators, and for each kept character its index."""
    chars, index = [], []
    for offset, ch in enumerate(candidate):
        if ch not in SEPARATORS:
            chars.append(ch)
            index.append(offset)
    return "".join(chars), index


@register
class EmailRecognizer(Recognizer):
    kind = "email"
    shown_as = Localized("e-mail addresses (also written obfuscated)",
                         "E-Mail-Adressen (auch verschleiert geschrieben)")
    pattern = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
    required = "@"
    local_char = re.compile(r"[\w.%+'-]")

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        """``finditer``'s matches, tried only from where an ``@``'s local part begins. A
        backtracking engine tries every start of a long run of address characters again:
        a note of ``"a" * 40_000 + "@"`` took seconds. From the start of the run a match
        exists exactly when one exists from any later start (same ``@``, same domain), so
        these are ``finditer``'s matches, and the core's linear engine finds the same."""
        pos, at = 0, text.find("@")
        while at != -1:
            start = at
            while start > pos and self.local_char.match(text, start - 1):
                start -= 1
            found = self.pattern.match(text, start) if start < at else None
            if found is not None:
                yield found
                pos = found.end()
                at = text.find("@", pos)
            else:
                at = text.find("@", at + 1)


#: a dot written out (``example dot com``, ``anna punkt weber``), and one either way
_WRITTEN_DOT = r"[ \t]+(?:dot|DOT|Dot|punkt|Punkt|PUNKT)[ \t]+"
_SPELLED_DOT = rf"(?:\.|{_WRITTEN_DOT})"
#: an address's local part and domain, each dot either way
_LOCAL = rf"[\w%+'-]+(?:{_SPELLED_DOT}[\w%+'-]+){{0,3}}"
_DOMAIN = rf"[\w-]+(?:{_SPELLED_DOT}[\w-]+){{1,4}}"


@register
class SpelledEmailRecognizer(Recognizer):
    """An e-mail address with its ``@`` or dots written out or spaced, which normalisation does
    not read (it reads only bracketed ones): ``anna at example dot com``, ``t.berger at
    web.de``, ``anna punkt weber at gmx punkt de``, ``anna @ example.com``. The last part must
    be a top-level domain's letters (``at 10.30`` is a time)."""

    kind = "email_spelled"
    label = "EMAIL"
    shown_as = EmailRecognizer.shown_as
    #: a few parts each side: an attacker's ``a dot a dot …`` is then read a bounded way
    #: from each word, not to its end. An address as written (``anna@example.com``) is the
    #: e-mail detector's: each form here has a space at its ``@`` or a dot written out
    pattern = re.compile(
        rf"\b{_LOCAL}(?:[ \t]+(?:at|AT|ät)[ \t]+|[ \t]+@[ \t]*|@[ \t]+){_DOMAIN}\b"
        rf"|\b{_LOCAL}@[\w-]+(?:\.[\w-]+){{0,3}}{_WRITTEN_DOT}[\w-]+(?:{_SPELLED_DOT}[\w-]+){{0,3}}\b")
    #: most notes with an e-mail address write it as one: this gate leaves them out
    required_any = re.compile(r"[ \t](?:at|AT|ät)[ \t]|[ \t]@|@[ \t]"
                              r"|[ \t](?:dot|DOT|Dot|punkt|Punkt|PUNKT)[ \t]")
    #: a top-level domain as written: lower case or capitals (``Siemens.Then`` is a typo)
    top_level = re.compile(r"[a-z]{2,24}|[A-Z]{2,24}")

    dots = re.compile(_SPELLED_DOT)

    def confirm(self, candidate: str) -> Span | None:
        last = self.dots.split(candidate)[-1]
        return (0, len(candidate)) if self.top_level.fullmatch(last) else None


@register
class ProfileUrlRecognizer(Recognizer):
    """The address of a person's profile on a social or business network (``linkedin.com/in/
    thomas-berger-4711``, ``xing.com/profile/Thomas_Berger``): it names the person, as a B2B
    CRM's notes keep it. A company's page on Facebook or Instagram goes with it."""

    kind = "profile_url"
    shown_as = Localized("addresses of profiles on LinkedIn, XING, Facebook, Instagram",
                         "Adressen von Profilen bei LinkedIn, XING, Facebook, Instagram")
    #: case-insensitive inline (``(?i)``), so that the core's gate reads it alike
    required_any = re.compile(r"(?i)linkedin\.com/in/|xing\.com/profile/|facebook\.com/"
                              r"|instagram\.com/")
    pattern = re.compile(r"(?i)(?:\bhttps?://)?(?:\bwww\.|\b[a-z]{2}\.)?\b(?:linkedin\.com/in"
                         r"|xing\.com/profile|facebook\.com|instagram\.com)/[\w%.-]+/?")


# IBAN lengths of the SEPA countries (ISO 13616 registry); others are tried by length.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
}


@register
class IbanRecognizer(Recognizer):
    kind = "iban"
    shown_as = Localized("IBANs", "IBANs")
    pattern = re.compile(_number_edges(r"\b[A-Z]{2}\d{2}(?:[ .-]?[A-Z0-9]){11,30}\b"),
                         re.IGNORECASE)
    min_digits = 2
    whole = False  # the pattern may run into the next word: confirm cuts the IBAN out

    def confirm(self, candidate: str) -> Span | None:
        compact, index = _compact(candidate)
        known = IBAN_LENGTHS.get(compact[:2].upper())
        # the pattern may run into the next word: try the country's length, else every prefix
        lengths = [known] if known else range(len(compact), 14, -1)
        for length in lengths:
            if length <= len(compact) and iban.is_valid(compact[:length].upper()):
                return index[0], index[length - 1] + 1
        return None


@register
class CardRecognizer(Recognizer):
    kind = "card"
    shown_as = Localized("payment card numbers", "Kartennummern")
    pattern = re.compile(_number_edges(r"\b\d(?:[ -]?\d){12,18}\b"))
    min_digits = 13

    def confirm(self, candidate: str) -> Span | None:
        compact, _ = _compact(candidate)
        return (0, len(candidate)) if 13 <= len(compact) <= 19 and luhn.is_valid(compact) else None


@register
class TaxIdRecognizer(Recognizer):
    """German Steuer-Identifikationsnummer (11 digits with a check digit)."""

    kind = "tax_id"
    shown_as = Localized("tax identification numbers", "Steuer-Identifikationsnummern")
    pattern = re.compile(_number_edges(r"\b\d{2}[ /]?\d{3}[ /]?\d{3}[ /]?\d{3}\b"))
    min_digits = 11

    def confirm(self, candidate: str) -> Span | None:
        return (0, len(candidate)) if idnr.is_valid(_compact(candidate)[0]) else None


@register
class AhvNumberRecognizer(Recognizer):
    """A Swiss social security number (AHV/AVS, ``756.1234.5678.97``): the country's 756,
    nine digits and a check digit (EAN-13), with its dots. A CRM of the DACH region holds
    them as the German one holds a Versicherungsnummer."""

    kind = "ahv_number"
    label = "SV_NUMBER"
    shown_as = Localized("Swiss (AHV) and Austrian social security numbers",
                         "schweizerische (AHV) und österreichische Sozialversicherungsnummern")
    pattern = re.compile(_number_edges(r"\b756\.\d{4}\.\d{4}\.\d{2}\b"))
    required = "756."
    min_digits = 13

    def confirm(self, candidate: str) -> Span | None:
        return (0, len(candidate)) if ahv.is_valid(candidate) else None


@register
class IpAddressRecognizer(Recognizer):
    """An IP address (``192.0.2.24``, ``2001:db8::1``): personal data when the provider can
    tie it to a subscriber (CJEU C-582/14, Breyer), and support notes keep them. The standard
    library's ``ipaddress`` decides (a time ``10:30:00`` or a version ``1.2.300.4`` is none)."""

    kind = "ip_address"
    shown_as = Localized("IP addresses", "IP-Adressen")
    pattern = re.compile(_number_edges(r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b"
                                       r"|\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b"))
    #: what every match holds (three dots between digits, a group before a colon): few notes
    #: do (a date has two dots)
    required_any = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:")

    def confirm(self, candidate: str) -> Span | None:
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            return None
        return 0, len(candidate)


class LeadRecognizer(Recognizer):
    """A finding after words that stay (a salutation, a greeting, a sign-off, a number's or a
    password's name): ``lead`` matches them at the candidate's start, ``after_lead`` says
    which part of the rest is the finding."""

    lead: ClassVar[re.Pattern[str]]
    whole = False  # the lead stays

    def confirm(self, candidate: str) -> Span | None:
        m = self.lead.match(candidate)
        return None if m is None else self.after_lead(candidate, m.end())

    def after_lead(self, candidate: str, start: int) -> Span | None:
        """The finding in ``candidate[start:]`` (its span in the candidate), or None."""
        raise NotImplementedError


@register
class MacAddressRecognizer(Recognizer):
    """A device's MAC address (``00:1A:2B:3C:4D:5E``, ``00-1a-2b-3c-4d-5e``): an online
    identifier of the customer's router or phone, which support notes keep."""

    kind = "mac_address"
    shown_as = Localized("MAC addresses of devices", "MAC-Adressen von Geräten")
    pattern = re.compile(_number_edges(r"\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b"))
    required_any = re.compile(r"[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]")


#: what a note writes after a password's name that is no password
_NOT_A_SECRET = frozenset(["siehe", "folgt", "unbekannt", "vergessen", "geändert", "neu",
                           "zurückgesetzt", "gesperrt", "entsperrt", "angefordert", "ok"])


@register
class CredentialRecognizer(LeadRecognizer):
    """A password or PIN that a note gives (``Passwort: Sommer2024!``, ``Kennwort lautet
    x7Yq``, ``PIN "4711"``): a secret has no place in BI, and support notes hold them. Only
    the secret is replaced; without quotes only after a colon or ``ist``/``lautet``, as
    ``Passwort zurückgesetzt`` gives none, and up to a comma or white space (as both regex
    engines read it: Python's white space also takes U+001C–U+001F)."""

    kind = "credential"
    label = "SECRET"
    shown_as = Localized("passwords and PINs (after Passwort, Kennwort, PIN)",
                         "Passwörter und PINs (nach Passwort, Kennwort, PIN)")
    names = r"Passwort|Kennwort|Password|Initialpasswort|Zugangscode|PIN"
    lead = re.compile(rf"(?:{names})(?:[ \t]*:|[ \t]+(?:ist|lautet|is|war))?[ \t]*")
    #: quoted, or a run up to white space or a comma
    secret = r'"[^"\n]{1,64}"|„[^“\n]{1,64}“|[^\s\x1c-\x1f"„,;]{4,64}'
    pattern = re.compile(rf"\b{lead.pattern}(?:{secret})")
    required_any = re.compile(names)

    def after_lead(self, candidate: str, start: int) -> Span | None:
        if start == len(candidate):
            return None
        if candidate[start] in "\"„":
            return start + 1, len(candidate) - 1
        said, secret = candidate[:start].strip(), candidate[start:]
        if secret in _NOT_A_SECRET or secret in _NOT_NAMES_LOWER:  # ``Passwort: siehe Brief``
            return None
        return (start, len(candidate)) if said.endswith(":") or " " in said else None


class NamedNumberRecognizer(LeadRecognizer):
    """A number said to be one: its name (``name``), a colon or spaces, then the number
    (``number``), which ``valid`` checks. Only the number is replaced; the pattern is the
    three together."""

    name: ClassVar[str]
    number: ClassVar[re.Pattern[str]]
    #: the digits that a number of letters and digits holds at least (``PA-Nr. folgt`` is none)
    number_digits: ClassVar[int] = 0
    #: (``lead``: the name and what follows it up to the number, made from ``name``)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.lead = re.compile(rf"(?:{cls.name})(?:[ \t]*:)?[ \t]*")
        # ASCII edges, as the numbers': the core's fast engine reads them (see NUMBER_EDGE)
        cls.pattern = re.compile(_number_edges(rf"\b{cls.lead.pattern}{cls.number.pattern}\b"))

    def after_lead(self, candidate: str, start: int) -> Span | None:
        number = self.number.match(candidate, start)
        return None if number is None or not self.valid(number) else (start, number.end())

    def valid(self, number: re.Match[str]) -> bool:
        """Whether the number is one (by default its form and digits are the check: no
        register to ask)."""
        return sum(ch.isdigit() for ch in number.group()) >= self.number_digits


@register
class TaxNumberRecognizer(NamedNumberRecognizer):
    """A German Steuernummer said to be one (``St.-Nr. 181/815/08155``): the tax office's
    number of a sole trader or freelancer, as invoices and tax papers print it. It has no
    check digit, so only a number after its name counts; python-stdnum checks that it has the
    form of one of the federal states' numbers. The replacement is the tax id's."""

    kind = "tax_number"
    label = "TAX_ID"
    shown_as = Localized("tax numbers (after Steuernummer, St.-Nr.)",
                         "Steuernummern (nach Steuernummer, St.-Nr.)")
    name = r"Steuer-?[Nn]ummer|St\.-?Nr\.|StNr\.?"
    required_any = re.compile(r"Steuer-?[Nn]ummer|St\.-?Nr|StNr")
    number = re.compile(r"\d{2,5}(?:[/ ]?\d){8,11}")
    min_digits = 10

    def valid(self, number: re.Match[str]) -> bool:
        compact = number.group().replace("/", "").replace(" ", "")
        return 10 <= len(compact) <= 13 and stnr.is_valid(compact)


@register
class SocialSecurityNumberRecognizer(NamedNumberRecognizer):
    """A German pension insurance number said to be one (``SV-Nr. 12 150785 M 123``): the area,
    the date of birth, the birth name's initial, a serial number and a check digit. The date
    must exist (its day is 50 more for a second number); the check digit is not tested (no
    maintained library computes it), so only a number after its name counts."""

    kind = "social_security_number"
    label = "SV_NUMBER"
    shown_as = Localized("social security numbers (after Versicherungsnummer, SV-Nr.)",
                         "Sozialversicherungsnummern (nach Versicherungsnummer, SV-Nr.)")
    name = r"(?:Renten|Sozial)?[Vv]ersicherungsnummer|[RS]V-?Nr\.?|[RS]VNR"
    required_any = re.compile(r"[Vv]ersicherungsnummer|[RS]V-?Nr|[RS]VNR")
    number = re.compile(r"\d{2}[ ]?(\d{2})(\d{2})(\d{2})[ ]?[A-Z][ ]?\d{3}")
    min_digits = 11

    def valid(self, number: re.Match[str]) -> bool:
        day, month, year = (int(part) for part in number.group(1, 2, 3))
        try:  # the day of a second number is 50 more; the century is not written
            datetime.date(2000 + year, month, day - 50 if day > 50 else day)
        except ValueError:
            return False
        return True


@register
class AustrianSocialSecurityNumberRecognizer(NamedNumberRecognizer):
    """An Austrian social security number said to be one (``SVNR 1237 010180``): a serial
    number, a check digit and the date of birth; python-stdnum tests the check digit."""

    kind = "at_social_security_number"
    label = "SV_NUMBER"
    shown_as = AhvNumberRecognizer.shown_as
    name = SocialSecurityNumberRecognizer.name + r"|SV-?Nummer"
    required_any = re.compile(SocialSecurityNumberRecognizer.required_any.pattern
                              + r"|SV-?Nummer")
    number = re.compile(r"\d{4}[ ]?\d{6}")
    min_digits = 10

    def valid(self, number: re.Match[str]) -> bool:
        return bool(vnr.is_valid(number.group()))


@register
class NamedTaxIdRecognizer(NamedNumberRecognizer):
    """A tax identification number said to be one (``Steuer-ID: 12 345 678 901``) whose check
    digit fails: a number mistyped, or read wrongly off a letter, is still the person's. The
    tax id's form is the test (eleven digits, the first not 0); unnamed, only a valid one
    counts (`TaxIdRecognizer`)."""

    kind = "named_tax_id"
    label = "TAX_ID"
    shown_as = Localized("tax identification numbers (also mistyped, after Steuer-ID, IdNr.)",
                         "Steuer-Identifikationsnummern (auch vertippt, nach Steuer-ID, IdNr.)")
    name = (r"Steuer-?ID|Steuer-?IdNr\.?|Steuer-?Identifikationsnummer|"
            r"Identifikationsnummer|IdNr\.?|St-?IdNr\.?")
    required_any = re.compile(r"Steuer-?I[Dd]|Identifikationsnummer|IdNr")
    number = re.compile(r"[1-9]\d[ /]?\d{3}[ /]?\d{3}[ /]?\d{3}")
    min_digits = 11


@register
class IdDocumentRecognizer(NamedNumberRecognizer):
    """The number of an identity document said to be one (``Personalausweis-Nr. L01X00T47``,
    ``Reisepass C01X00T47``, ``Führerscheinnummer B072RRE2I55``): a note that a document was
    checked often keeps it. German and foreign numbers differ in form, so a run of capitals
    and digits with two digits at least counts after the document's name."""

    kind = "id_document"
    label = "ID_NUMBER"
    shown_as = Localized("numbers of identity cards, passports and driving licences",
                         "Nummern von Personalausweisen, Pässen und Führerscheinen")
    name = (r"(?:Personalausweis|Ausweis|Reisepass|Pass|Führerschein|Aufenthaltstitel)"
            r"(?:-?[Nn]ummer|[ \t]*-?Nr\.?)?|Dokumentennummer|PA-?Nr\.?")
    required_any = re.compile(r"[Aa]usweis|[Pp]ass|Führerschein|Aufenthaltstitel"
                              r"|Dokumentennummer|PA-?Nr")
    number = re.compile(r"[A-Z0-9]{6,11}")
    number_digits = 2


@register
class HealthInsuranceNumberRecognizer(NamedNumberRecognizer):
    """A German health insurance number said to be one (``KVNR: A123456780``,
    ``Versichertennummer A 12345678 0``): the lifelong number on the health card, a letter and
    nine digits, which an insurer's, a pharmacy's or a care service's CRM keeps. After its name
    the form decides, as for identity documents: a note that names the number means it."""

    kind = "health_insurance_number"
    label = "KV_NUMBER"
    shown_as = Localized("health insurance numbers (after KVNR, Versichertennummer)",
                         "Krankenversichertennummern (nach KVNR, Versichertennummer)")
    name = (r"Krankenversicherten-?[Nn]ummer|Krankenversicherungsnummer|Versicherten-?[Nn]ummer"
            r"|Versicherten-?Nr\.?|Versicherten-ID|KV-?Nr\.?|KVNR|KVID")
    required_any = re.compile(r"[Vv]ersicherten|Krankenversicherungsnummer|KV-?Nr|KVNR|KVID")
    number = re.compile(r"[A-Z][ ]?\d{8}[ ]?\d")
    min_digits = 9


@register
class MeterIdRecognizer(NamedNumberRecognizer):
    """The number of a household's electricity or gas meter, or of its market or metering
    location, said to be one (``Zählernummer 1ESY1160512345``, ``MaLo-ID 51238696781``): the
    grid operator ties it to an address, so an energy supplier's CRM notes carry a
    household's identifier with it. Not a reading (``Zählerstand 004512``)."""

    kind = "meter_id"
    label = "METER_ID"
    shown_as = Localized("meter and metering location numbers (after Zählernummer, MaLo-ID)",
                         "Zähler- und Lokationsnummern (nach Zählernummer, MaLo-ID)")
    name = (r"Zählernummer|Zähler-?Nr\.?|Zählernr\.?|Marktlokations-?ID|Messlokations-?ID"
            r"|MaLo-?ID|MeLo-?ID|MaLo|MeLo")
    required_any = re.compile(r"Zähler-?[Nn]|MaLo|MeLo|[Mm]arktlokation|[Mm]esslokation")
    number = re.compile(r"[A-Z0-9]{6,33}")
    number_digits = 4


@register
class PostNumberRecognizer(NamedNumberRecognizer):
    """A parcel customer's number said to be one (``Postnummer 12345678``, as a delivery to a
    Packstation needs it): the parcel service ties it to its customer."""

    kind = "post_number"
    label = "POST_NUMBER"
    shown_as = Localized("parcel customer numbers (after Postnummer)",
                         "Postnummern von Paketkunden (nach Postnummer)")
    name = r"(?:DHL-)?Post-?[Nn]ummer|Post-?Nr\."
    required_any = re.compile(r"Post-?[Nn]ummer|Post-?Nr")
    number = re.compile(r"\d{6,10}")
    min_digits = 6


@register
class LicensePlateRecognizer(NamedNumberRecognizer):
    """A vehicle's registration said to be one (``Kfz-Kennzeichen M-AB 1234``): the keeper is
    on record for it, as an insurer's CRM holds. German form: the district, the letters, the
    number, and ``E`` or ``H`` for an electric or historic car."""

    kind = "license_plate"
    shown_as = Localized("vehicle registrations (after Kennzeichen)",
                         "Kfz-Kennzeichen (nach Kennzeichen)")
    name = r"(?:(?:amtl\.|amtliches)[ \t]+)?(?:Kfz-|KFZ-)?(?:Kennzeichen|Kz\.)"
    required_any = re.compile(r"Kennzeichen|Kz\.")
    number = re.compile(r"[A-ZÄÖÜ]{1,3}[ -][A-Z]{1,2}[ -]?[1-9][0-9]{0,3}[EH]?")
    min_digits = 1


@register
class BirthDateRecognizer(Recognizer):
    """A date of birth, said to be one (``geb. 12.03.1985``, ``Geburtsdatum: 1985-03-12``,
    ``DOB: 03/25/1985``, ``Geburtstag des Kunden: 17. März 1972``, ``Max Müller, *
    12.03.1970``), a birthday without its year (``Geburtstag:
    03.07.``) and a year of birth alone (``geb. 1965 in Köln``, ``Jahrgang 1958``): with a name
    or a postcode each singles a person out. Other dates of a note (appointments, deadlines)
    stay. Only the date is replaced, and only a date that exists (a year: 1900 to this one)."""

    kind = "birth_date"
    shown_as = Localized("dates and years of birth (after geb., geboren, Geburtsdatum, "
                         "Geburtstag, Jahrgang, a name's *)",
                         "Geburtsdaten und -jahre (nach geb., geboren, Geburtsdatum, "
                         "Geburtstag, Jahrgang, dem * nach einem Namen)")
    #: the month names and their abbreviations, as a date written out uses them
    months: ClassVar[dict[str, int]] = {
        name: number for number, names in enumerate([
            "Januar Jan.", "Februar Feb.", "März Mär. Maerz", "April Apr.", "Mai",
            "Juni Jun.", "Juli Jul.", "August Aug.", "September Sep. Sept.", "Oktober Okt.",
            "November Nov.", "Dezember Dez."], 1) for name in names.split()}
    #: a day and month with or without the year, an ISO date, a year alone; a year is a
    #: whole number (``geb. 12.03.19855`` keeps its digits after the day and month)
    date = re.compile(r"(\d{1,2})[./][ \t]?(\d{1,2})[./](?:[ \t]?(\d{4}|\d{2})\b)?"
                      r"|(\d{4})-(\d{2})-(\d{2})\b"
                      r"|(\d{1,2})\.[ \t]?(" + "|".join(re.escape(m) for m in months)
                      + r")(?:[ \t]?(\d{4})\b)?"
                      r"|((?:19|20)\d{2})\b")
    #: what says that the date is one of birth
    words = (r"[Gg]eb\.|[Gg]eboren|Geburtsdatum|Geburtstag|Geburtsjahr|Jahrgang|Jg\.|DOB"
             r"|[Dd]ate of birth|[Bb]orn")
    #: the genealogical star after a name (``Max Müller, * 12.03.1970``, ``(* 3. März 1970)``);
    #: a bullet's star at a line's start is none
    star = r"[,(][ \t]*\*"
    required_any = re.compile(f"{words}|{star}")
    #: whose it is, and the words before the date (``Geburtsdatum der Ehefrau: …``,
    #: ``Geburtstag ist am …``, ``Geb.-Datum: …``)
    lead = (rf"(?:\b(?:{words})(?:-Datum)?"
            r"(?:[ \t]+(?:des|der|vom|von)[ \t]+[A-ZÄÖÜ][a-zäöüß]+)?:?"
            rf"(?:[ \t]+(?:ist|war))?(?:[ \t]+am)?|{star})[ \t]*")
    pattern = re.compile(rf"{lead}(?:{date.pattern})")
    min_digits = 1
    whole = False  # confirm cuts the date out

    def confirm(self, candidate: str) -> Span | None:
        m = self.date.search(candidate)
        if m is None:
            return None
        if m.group(10):  # a year alone
            born = int(m.group(10))
            return m.span() if 1900 <= born <= datetime.date.today().year else None
        day, month, year = (m.group(1, 2, 3) if m.group(1) else m.group(6, 5, 4) if m.group(4)
                            else (m.group(7), str(self.months[m.group(8)]), m.group(9)))
        if year is None and not candidate.startswith("Geburtstag"):
            return None  # ``geb. 12.03.`` without a year is more often ``gebucht`` than born
        # no year, or two digits of it: any century, so 29.02. of a leap year is a date
        full_year = 2000 if year is None else int(year) if len(year) == 4 else 2000 + int(year)
        # with slashes, English mails write the month first (``DOB: 03/25/1985``)
        orders = [(month, day), (day, month)] if "/" in m.group() else [(month, day)]
        for month_of, day_of in orders:
            try:
                datetime.date(full_year, int(month_of), int(day_of))
            except ValueError:
                continue
            return m.span()
        return None


@register
class PhoneRecognizer(Recognizer):
    """Phone numbers, on candidates a cheap pattern found (they start with + or 0).

    A valid number (in a range that phonenumbers knows) is a finding. So is a number written
    as people write phone numbers (``0`` and an area code, or ``+`` and a country code) of a
    possible length that no known range holds: mistyped, or from a range newer than the
    library's metadata, it still reaches a person. Digits after ``00`` (often a group inside
    a longer number) and a candidate in the shape of a date (dd.mm.yy, dd.mm.yyyy) have to be
    valid to count.
    """

    kind = "phone"
    shown_as = Localized("phone numbers", "Telefonnummern")
    region = "DE"
    date_shape = re.compile(_number_edges(r"\b\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})\b"))
    #: a whole date is a candidate of its own (and no phone, as it is not valid), so that
    #: the ``03.2026`` of ``12.03.2026`` is never read as a number written with a leading 0;
    #: so is a code (``V-0123456``, ``KD-4711``), which starts with a letter
    #: the groups' separators: a word processor writes its hyphens as dashes (``0171 – 234 56
    #: 78``: U+2010 to U+2015, which phonenumbers reads as hyphens)
    pattern = re.compile(date_shape.pattern + _number_edges(
        r"|\b[A-Za-z]{1,4}-\d[\d-]*\d|(?:\+|\b00|\(?\b0 ?)\d[\d /().\-\u2010-\u2015]{4,20}\d"))
    #: (a space after the leading 0 too: ``(0 30) 12 34 56``, ``0 61 31 / 23 45 67``)
    written_as_phone = re.compile(r"\(?(?:\+|0 ?[1-9])")
    min_digits = 2

    def confirm(self, candidate: str) -> Span | None:
        if candidate[0].isalpha():  # a code: phonenumbers would read its letters as digits
            return None
        try:
            number = phonenumbers.parse(candidate, self.region)
        except phonenumbers.NumberParseException:
            return None
        # the cheap test first: a number written as a phone number that is possible needs no
        # look-up in the ranges (is_valid_number is a third of a candidate's time)
        if self._possible(candidate, number) or phonenumbers.is_valid_number(number):
            return 0, len(candidate)
        return None

    def _possible(self, candidate: str, number: phonenumbers.PhoneNumber) -> bool:
        return (self.written_as_phone.match(candidate) is not None
                and self.date_shape.search(candidate) is None
                and phonenumbers.is_possible_number(number))


#: name words after a salutation, title or kinship word (written for both regex engines:
#: Latin-1 and Latin Extended-A letters by range, ſ included, as the core searches İ and ı as
#: ſ; Latin Extended-B and Additional, Romanian ``Ștefan`` and Vietnamese ``Nguyễn``, too,
#: which only Python reads, as the core leaves a text with them to Python)
_UPPER, _LOWER = "A-ZÀ-ÖØ-ÞĀ-ɏḀ-ỿ", "a-zß-öø-ÿĀ-ɏḀ-ỿ"
#: with the prefixes that put a capital inside a name (``O'Connor``, ``D’Angelo``,
#: ``McDonald``, ``MacLeod``, ``DeMarco``, ``LeBlanc``): each a fixed string, so a word is read
#: once
_NAME_WORD = (rf"(?:[{_UPPER}]['’]|Ma?c|D[aei]|L[ae])?[{_UPPER}][{_LOWER}]+"
              rf"(?:-[{_UPPER}][{_LOWER}]+)?\b")
#: the salutations and titles proper: after these, a lower-case word can be a name particle
#: (``Hr`` also without its dot, as quick notes write it; ``Fr`` is Friday there)
_ADDRESSES = (r"Frau|Herrn?|Hrn?\.|Hrn?|Fr\.|Frl\.|Familie|Fam\.|Eheleute|Ehepaar|Dr\.|"
              # and the English ones of an international firm's notes and mails
              r"Prof\.|Mrs\.|Mrs|Mr\.|Mr|Ms\.|Ms|Miss|Mx\.")
_TRIGGERS = (_ADDRESSES + r"|Ehemann|Ehefrau|Gatte|"
             r"Gattin|Mann|Sohn|Tochter|Mutter|Vater|Bruder|Schwester|Oma|Opa|Enkelin|Enkel|"
             r"Schwiegersohn|Schwiegertochter|Kollegin|Kollege|Nachbarin|Nachbar|Betreuerin|"
             r"Betreuer|Witwe|Witwer|Lebensgefährtin|Lebensgefährte|Partnerin|Partner|"
             # the roles that a business note names a person by (``Ansprechpartner: …``)
             r"Ansprechpartnerin|Ansprechpartner|Ansprechperson|Kontaktperson|"
             r"Gesprächspartnerin|Gesprächspartner|Sachbearbeiterin|Sachbearbeiter|"
             r"Maklerin|Makler|Vermittlerin|Vermittler|Vertreterin|Vertreter|Beraterin|Berater|"
             r"Geschäftsführerin|Geschäftsführer|Bevollmächtigte|Bevollmächtigter|Erbin|"
             r"Rechtsanwältin|Rechtsanwalt|Anwältin|Anwalt|Steuerberaterin|Steuerberater|"
             r"Notarin|Notar|Vermieterin|Vermieter|Mieterin|Mieter|"
             r"Assistentin|Assistent|Sekretärin|Sekretär|Mitarbeiterin|Mitarbeiter|Chefin|Chef|"
             r"Vorgesetzte|Vorgesetzter|Pflegerin|Pfleger|Vormund|"
             # more of the family (``Tante Hildegard``, ``Schwager Dirk``)
             r"Onkel|Tante|Neffe|Nichte|Cousine|Cousin|Schwägerin|Schwager|Schwiegermutter|"
             r"Schwiegervater|Großmutter|Großvater|Stiefsohn|Stieftochter|Stiefmutter|"
             r"Stiefvater|Verlobte|Verlobter|"
             # a form's fields written without their colon (``Nachname Kessler``)
             r"Nachname|Vorname|Geburtsname|Mädchenname|Familienname|"
             # an insurer's policyholder (Versicherungsnehmer), a customer as abbreviated
             r"VN|Kd\.|Kdn\.|"
             # a firm's owner (a sole trader's firm bears the owner's name)
             r"Inh\.|"
             # the name someone was born with (``Frau Schmidt, geb. Weber``), or married,
             # widowed or divorced under (``Anna Schmitz, verh. Hoffmann``)
             r"geb\.|geborene|geborener|verh\.|verheiratete|verw\.|verwitwete|geschiedene|"
             # whom a letter or a parcel goes to (``c/o Schneider``, ``z. Hd. Kruse``)
             r"c/o|z\.[ \t]?Hd\.|"
             # a person introduced by name (``ein Herr namens Gruber``)
             r"namens|"
             # a mail's greeting in English (German greetings are followed by a salutation)
             r"Dear")
#: the labels of a name in a form or a mail's header: only with their colon (``Name: …``),
#: as ``Name Ihres Ansprechpartners`` names nobody
_LABELS = (r"Name|Nachname|Vorname|Anrufer|Anruferin|Kontakt|Kontoinhaber|Kontoinhaberin|"
           r"Inhaber|Inhaberin|Versicherungsnehmer|Versicherungsnehmerin|Mandant|Mandantin|"
           r"Patient|Patientin|AP|GF|Bearbeiter|Bearbeiterin|Verfasser|Verfasserin|"
           r"Unterzeichner|Unterzeichnerin|"
           # the parties of a contract, a claim or an estate (``Vertragspartnerin: …``)
           r"Vertragspartner|Vertragspartnerin|Antragsteller|Antragstellerin|Begünstigte|"
           r"Begünstigter|Erben|Erbe|Versicherte|Versicherter|Geschädigte|Geschädigter|"
           r"Unfallgegner|Unfallgegnerin|Bürge|Bürgin|Schuldner|Schuldnerin|Eigentümer|"
           r"Eigentümerin|Zeuge|Zeugin|Contact|Attn|"
           # who took part (``Teilnehmer: Schmidt, Wagner und Becker``)
           r"Teilnehmer|Teilnehmerin|Teilnehmende|Anwesend|Anwesende|"
           # a forwarded mail's header (``Von: Kowalczyk, Janina``)
           r"Von|An|Cc|CC|Absender|Empfänger|From|To")
#: an abbreviated salutation written without a space before the name (``Hr.Kowalski``)
_GLUED = r"(?:Hrn?|Fr|Frl|Dr|Mrs?|Ms)\."
#: academic and professional titles as letters and business mail write them (``Dr. jur.``,
#: ``Dipl.-Kffr.``, ``Dr.-Ing.``, ``Mag.``, ``RA``): one of them read as the name hid the name
_TITLES = (r"Dr\.|Dr\.-Ing\.|Prof\.|Dipl\.-[A-Z][a-z]{1,5}\.|Mag\.|Ing\.|med\.|dent\.|vet\.|"
           r"jur\.|rer\.|nat\.|pol\.|oec\.|phil\.|h\.[ \t]?c\.|mult\.|\(FH\)|RA|RAin|StB|"
           # a profession that letters put between the salutation and the name
           r"Rechtsanwältin|Rechtsanwalt|Steuerberaterin|Steuerberater|Notarin|Notar")
#: capitalised words that follow a salutation and are no name (German nouns are capitalised)
_NOT_NAMES_TEXT = (
    "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag Januar Februar März April Mai "
    "Juni Juli August September Oktober November Dezember Termin Rückruf Rueckruf Anruf Vertrag "
    "Angebot Kunde Kundin Tel Telefon Mail Email Brief Rechnung Kündigung Tarif Strom Gas Bitte "
    "Danke Info Frage Wunsch Nachricht Ende Anfang Bescheid Zahlung Konto Adresse Umzug "
    "Vollmacht Unterlagen Heute Morgen Gestern Doktor Professor Der Die Das Den Dem Des Ein "
    "Eine Einen Und Oder Aber Sie Er Es Ihr Ihm Ihre Wir Hat Ist War Wird Kein Keine Nicht Noch "
    "Schon Auch Ihrem Ihren Euer Eure Team Service Kundenservice Support Vertrieb Einkauf "
    "Buchhaltung Verwaltung Geschäftsführung Abteilung Stadtwerke Nr Nummer Schreiben "
    "Schaden Schadenfall Police Antrag Gutachten Unterschrift Akte Mandat Vorgang "
    # what begins a sentence after an enumeration's letter (``Variante B. Danach …``)
    "Danach Dann Anschließend Außerdem Zudem Leider Somit Daher Deshalb Also Jetzt Hier Dort "
    "Anlage Anhang Seite Absatz Ziffer Punkt Kapitel Gebäude Haus Variante "
    # greetings and answers before a comma and a first name (``Hallo, Anna``)
    "Hallo Hi Hey Moin Servus Liebe Lieber Ja Nein Gut Okay Ok Super Prima "
    # and what a greeting addresses that is no name (``Liebe Grüße,``, ``Hallo Kollegen,``)
    "Grüße Gruß Kollegen Kolleginnen Kunden Kundinnen Damen Herren Leute Alle Freunde Zusammen "
    "Mitarbeiter Mitarbeiterin Mitarbeitende Geschäftspartner Mitglieder Eltern Interessenten "
    "Nutzer Nutzerinnen Teilnehmer Teilnehmende Gäste Bewohner Anwohner Nachbarn Beteiligte "
    "Welt "
    # after an English greeting
    "Sir Madam Customer Customers Colleague Colleagues All Friends Team Partners Best Thanks "
    "Sales Marketing Office Admin Management Accounting Finance Purchasing "
    # what follows a saint's or founder's name in the name of a place or a firm
    "Straße Strasse Platz Allee Weg Kirche Apotheke Schule Gymnasium Klinik Krankenhaus "
    "Stiftung Versicherung Bank Sparkasse Filiale Himmelfahrt"
)
#: … nor is a salutation or kinship word itself (``Herr Becker Frau``)
def _words_of(alternation: str) -> set[str]:
    """The words an alternation of the patterns above spells (``Herrn?`` is Herr and Herrn,
    ``Hr\\.`` is Hr)."""
    words = set()
    for word in re.sub(r"\\.", "", alternation).split("|"):
        words.add(word.rstrip("?"))
        if word.endswith("?"):
            words.add(word[:-2])
    return words


NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split()) | frozenset(_words_of(f"{_TRIGGERS}|{_LABELS}"))


def _by_first_letter(alternation: str) -> str:
    """An alternation of patterns (each begins with a letter of its own, none holds a ``|``)
    grouped by that letter, each group in the alternation's order: the same matches, but
    Python's ``re`` tries one group at a position, not each word (the salutations' ~90 after
    their ``\b``: 24 µs a note of the quality corpus, now 11)."""
    groups: dict[str, list[str]] = {}
    for word in alternation.split("|"):
        groups.setdefault(word[0], []).append(word[1:])
    return "(?:" + "|".join(
        f"{first}(?:{'|'.join(rest)})" if len(rest) > 1 else first + rest[0]
        for first, rest in groups.items()) + ")"


_TRIGGERS_GROUPED, _LABELS_GROUPED = _by_first_letter(_TRIGGERS), _by_first_letter(_LABELS)
#: white space as both regex engines read it (Python's ``\s`` also takes U+001C–U+001F)
_SPACE = r"[^\S\x1c-\x1f]"
#: a salutation, kinship word or title and the titles or salutations after it, up to the name
#: (``Ansprechpartnerin Fr. Wagner``: a name word ``Fr`` would hide ``Wagner``)
#: Each alternative once (``Dr.`` is a title and an address: twice, Python's ``re`` would try
#: 2^k ways through ``Frau Dr. Dr. …``), and at most five (an attacker's ``Dr. Dr. …`` would
#: otherwise be read to its end from every ``Dr.``: quadratic). tests/masking/test_scrub_linear.py
#: The last title may be written onto the name (``Frau Dr.Meier``), as ``Hr.Kowalski`` is.
_TITLES_OR_ADDRESSES = "|".join(dict.fromkeys(f"{_TITLES}|{_ADDRESSES}".split("|")))
#: a role or label written for every gender (``Ansprechpartner*in``, ``Bearbeiter:in:``,
#: ``AnsprechpartnerIn``)
_GENDERED = r"(?:[*:_/]in|In)?"
#: each label with its colon, flat (a gate: see `SalutationRecognizer.required_any`)
_LABELLED = "|".join(f"{label}{_GENDERED}:" for label in _LABELS.split("|"))
_SALUTATION = (rf"(?:(?:{_TRIGGERS_GROUPED}{_GENDERED}:?|{_LABELS_GROUPED}{_GENDERED}:)"
               rf"(?:{_SPACE}+(?:{_TITLES_OR_ADDRESSES})){{0,5}}{_SPACE}+(?:{_GLUED})?"
               rf"|{_GLUED})")
#: a salutation proper and its titles, up to a name with a particle (``Herrn von der Heyde``)
_ADDRESS = rf"(?:{_ADDRESSES})(?:{_SPACE}+(?:{_TITLES})){{0,4}}{_SPACE}+"
#: name particles (German, Dutch, Romance, Portuguese) and the articles after them
_PARTICLE_WORDS, _PARTICLE_ARTICLES = "von v. van de da di del della dos du ten ter", "der den dem la le"


def _any_of(words: str, case: Callable[[str], str]) -> str:
    """The space-separated ``words``, each written in ``case``, as one alternation."""
    return "(?:" + "|".join(re.escape(case(word)) for word in words.split()) + ")"


def _particles(case: Callable[[str], str], articles_case: Callable[[str], str]) -> str:
    """The particles, and an article after one, written in ``case`` (``str.upper`` for a name
    in capitals: one list for both, so neither lacks a particle)."""
    return (f"{_any_of(_PARTICLE_WORDS, case)}"
            rf"(?:[ \t]+{_any_of(_PARTICLE_ARTICLES, articles_case)})?")


#: lower-case, or the first capitalised (``Frau Von der Leyen``: the name word took ``Von``
#: and left ``der Leyen``); only after a salutation proper, as ``von`` after ``Kollege`` is a
#: preposition
_PARTICLES = (f"(?:{_particles(str.lower, str.lower)}"
              f"|{_particles(str.capitalize, str.lower)})")
#: the sign-offs before a name (``Viele Grüße\nAnna``, ``i. A. Thomas Berg``)
_SIGN_OFFS = (r"Grüßen?|Gruß|Grüssen?|Gruss|MfG|mfg|MFG|i\.[ \t]?A\.|gez\.|Danke|[Rr]egards|"
              r"Sincerely|Cheers|Thanks|Best,")
#: the short sign-offs of chat and quick mail (liebe, viele, beste Grüße), only before a comma
#: or a line's end: ``LG Köln`` is a court (Landgericht), ``VG Berlin`` another
_SHORT_SIGN_OFFS = r"LG|VG|BG"
#: a sign-off, up to the name under it, past its titles (``Best regards\nDipl.-Ing. Katrin
#: Hoffmann``, ``VG, Mareike``)
_SIGN_OFF = (rf"(?:(?:{_SIGN_OFFS})[ \t]*,?{_SPACE}+"
             rf"|(?:{_SHORT_SIGN_OFFS})[ \t]*(?:,{_SPACE}*|\r?\n{_SPACE}*))"
             rf"(?:(?:{_TITLES}){_SPACE}+){{0,3}}")


@register
class SalutationRecognizer(LeadRecognizer):
    """Names the CRM does not know, after a salutation, title or kinship word: the
    capitalised word that follows (the salutation stays: ``Frau [NAME]``)."""

    kind = "salutation"
    label = "NAME"
    shown_as = Localized("names after a salutation, title, kinship word, role or label",
                         "Namen nach Anrede, Titel, Verwandtschaftswort, Rolle oder Feldname")
    pattern = re.compile(r"\b" + _SALUTATION + _NAME_WORD)
    #: a label only with its colon (``Kunde`` alone, in most notes, passed every text)
    #: flat, each word an alternative: Python's ``re`` then skips to the positions where one
    #: of their first letters stands (grouped, or the labels in a group, it tried them all)
    required_any = re.compile(f"{_TRIGGERS}|{_LABELLED}")
    lead = re.compile(_SALUTATION)
    words = 1

    def after_lead(self, candidate: str, start: int) -> Span | None:
        words = candidate[start:].split()
        if len(words) != self.words or any(w in NOT_NAMES for w in words):
            return None
        return start, len(candidate)


@register
class SalutationFullNameRecognizer(SalutationRecognizer):
    """The same with a first and a last name (``Ehemann Peter Schmidt``); the first name
    alone is the other recognizer's. Its own search, so a match that runs into the next
    salutation (``Herr Becker Frau``) does not hide that salutation's name from the other."""

    kind = "salutation_full_name"
    shown_as = Localized("names after a salutation, title, kinship word, role or label",
                         "Namen nach Anrede, Titel, Verwandtschaftswort, Rolle oder Feldname")
    #: two first names and a last name (``Frau Anna Maria Schmidt``) when both first names
    #: are common ones, or a Vietnamese name's three (``Frau Nguyễn Thị Lan``): a third
    #: capitalised word is otherwise the noun after the name
    pattern = re.compile(r"\b" + _SALUTATION + _NAME_WORD + r"[ \t]+" + _NAME_WORD
                         + r"(?:[ \t]+" + _NAME_WORD + ")?")
    words = 2

    def after_lead(self, candidate: str, start: int) -> Span | None:
        words = list(re.finditer(r"\S+", candidate[start:]))
        if len(words) == 3 and (words[2].group() in NOT_NAMES
                                or not (all(w.group() in FIRST_NAMES for w in words[:2])
                                        or words[1].group() in MIDDLE_NAMES)):
            words = words[:2]
        if len(words) < self.words or any(w.group() in NOT_NAMES for w in words):
            return None
        return start, start + words[-1].end()


#: a name written in capitals (``Herr MÜLLER``, ``HERR MAIER``, ``HERRN VON DER HEYDE``):
#: three letters at least, so that an abbreviation (``Kontakt: IT``) is none
_CAPS = "A-ZÀ-ÖØ-Þ"
_CAPS_WORD = (rf"(?:{_particles(str.upper, str.upper)}[ \t]+)?"
              rf"[{_CAPS}][{_CAPS}ß]{{2,}}(?:-[{_CAPS}][{_CAPS}ß]+)?\b")
#: a salutation written in capitals, and its titles
_CAPS_SALUTATION = (rf"(?:HERRN?|FRAU|FAMILIE|HRN?\.|FR\.|DR\.)"
                    rf"(?:{_SPACE}+(?:DR\.|PROF\.)){{0,2}}{_SPACE}+")


@register
class SalutationCapsNameRecognizer(SalutationRecognizer):
    """A name in capitals after a salutation (``Herr MÜLLER``, as forms and formal mails
    write surnames), and any name after a salutation in capitals (``HERR MAIER``, ``FRAU
    Weber``): unless it is a word that is no name (``FRAU TERMIN``)."""

    kind = "salutation_caps_name"
    shown_as = SalutationRecognizer.shown_as
    pattern = re.compile(rf"\b(?:(?:{_SALUTATION}){_CAPS_WORD}"
                         rf"|{_CAPS_SALUTATION}(?:{_CAPS_WORD}|{_NAME_WORD}))")
    #: every match holds three capitals in a row (the name, ``HERR``, ``FRAU``) or an
    #: abbreviated salutation in capitals: most notes do not (two capitals in a row passed the
    #: ``DE`` of every IBAN), and the pattern (every salutation, then a word in capitals) is
    #: not cheap
    required_any = re.compile(rf"[{_CAPS}][{_CAPS}ß]{{2}}|HRN?\.|FR\.|DR\.")
    lead = re.compile(f"{_SALUTATION}|{_CAPS_SALUTATION}")

    def after_lead(self, candidate: str, start: int) -> Span | None:
        return None if candidate[start:].title() in NOT_NAMES else (start, len(candidate))


@register
class SalutationParticleNameRecognizer(SalutationRecognizer):
    """A surname with a particle after a salutation proper (``Herrn von der Heyde``, ``Frau
    van Dijk``, ``Herr da Silva``): the particles go with the name (``Herrn [NAME]``)."""

    kind = "salutation_particle_name"
    shown_as = SalutationRecognizer.shown_as
    pattern = re.compile(r"\b" + _ADDRESS + _PARTICLES + r"[ \t]+" + _NAME_WORD)
    lead = re.compile(_ADDRESS)

    def after_lead(self, candidate: str, start: int) -> Span | None:
        return None if candidate.split()[-1] in NOT_NAMES else (start, len(candidate))


#: the words after a salutation typed in lower case that are no name: what a quick note
#: writes there (``frau hat angerufen``, ``herr und frau``, ``hr. wg. angebot``)
_NOT_NAMES_LOWER_TEXT = """
    der die das den dem des ein eine einen einem einer eines und oder aber sowie bzw als wie
    ich du er sie es wir ihr mich mir ihn ihm ihnen uns sich sein seine seinen ihre ihren
    hat habe haben hatte ist war wird wurde sind waren kann konnte will wollte muss musste
    soll sollte möchte möchten mag darf würde wäre ruft rief meldet meldete bittet bat
    wünscht sagt sagte schreibt schrieb fragt fragte kommt kam zahlt zahlte braucht
    angerufen zurückgerufen gemeldet informiert erreicht nicht kein keine keinen noch schon
    auch nur sehr bitte heute morgen gestern gleich sofort wieder dann jetzt hier dort
    mit von zu bei nach aus für über unter um an auf in im am vom zum zur bis seit ohne
    gegen durch wegen wg bzgl laut lt per via unbekannt
"""
_NOT_NAMES_LOWER = frozenset(_NOT_NAMES_LOWER_TEXT.split())


@register
class LowerCaseSalutationRecognizer(LeadRecognizer):
    """A name after a salutation typed in lower case, as quick notes from a phone are
    (``rückruf herr müller wg angebot``, ``frau dr. schmidt``): the lower-case word that
    follows, unless it is a word that such notes write there (``frau hat angerufen``)."""

    kind = "salutation_lower_case"
    label = "NAME"
    shown_as = SalutationRecognizer.shown_as
    lead = re.compile(r"(?:herrn?|frau|hrn?\.|fr\.)(?:[ \t]+(?:dr\.|prof\.)){0,2}[ \t]+")
    pattern = re.compile(rf"\b{lead.pattern}[{_LOWER}]{{3,}}(?:-[{_LOWER}]+)?\b")
    required_any = re.compile(r"herr|frau|hrn?\.|fr\.")

    def after_lead(self, candidate: str, start: int) -> Span | None:
        return None if candidate[start:] in _NOT_NAMES_LOWER else (start, len(candidate))


@register
class CoupleNameRecognizer(LeadRecognizer):
    """A couple named as contracts and letters name them (``Eheleute Hans und Grete
    Zimmermann``, ``Familie Jan u. Eva Berg``, ``Herr und Frau Peter und Anna Koch``): both
    first names and the surname, after the salutation, as one name."""

    kind = "couple_name"
    label = "NAME"
    shown_as = SalutationRecognizer.shown_as
    lead = re.compile(r"(?:Eheleute|Ehepaar|Familie|Fam\.|Herr[ \t]+und[ \t]+Frau"
                      r"|Frau[ \t]+und[ \t]+Herr)[ \t]+")
    pattern = re.compile(rf"\b{lead.pattern}{_NAME_WORD}[ \t]+(?:und|u\.|&)[ \t]+{_NAME_WORD}"
                         rf"(?:[ \t]+{_NAME_WORD})?")
    required_any = re.compile(r"Eheleute|Ehepaar|Famil|Fam\.|Herr[ \t]+und|Frau[ \t]+und")

    def after_lead(self, candidate: str, start: int) -> Span | None:
        words = [w for w in candidate[start:].split() if w not in ("und", "u.", "&")]
        return None if any(word in NOT_NAMES for word in words) else (start, len(candidate))


@register
class MentionRecognizer(Recognizer):
    """A colleague mentioned by a user name (``@jschulz bitte übernehmen``, ``cc
    @Sabine.Roth``), as a CRM's comments and chatter write: the name is a person's. Not the
    ``@`` of an e-mail address (a word character before it), nor a team (``@Team``,
    ``@vertrieb``)."""

    kind = "mention"
    label = "NAME"
    shown_as = Localized("user names mentioned with @", "mit @ erwähnte Benutzernamen")
    pattern = re.compile(rf"\B@[{_UPPER}{_LOWER}][{_UPPER}{_LOWER}0-9_.-]{{0,40}}"
                         rf"[{_UPPER}{_LOWER}0-9_]")
    #: an ``@`` at the start or after a space, a bracket or a list's comma: every e-mail
    #: address held an ``@`` and a letter, and passed a fifth of the reference mix's texts to
    #: the pattern (its Unicode word edge sends the core to a slow engine)
    required_any = re.compile(rf"(?:^|[ \t\n(,;:>])@[{_UPPER}{_LOWER}]")

    def confirm(self, candidate: str) -> Span | None:
        name = candidate[1:]
        return None if name in NOT_NAMES or name.capitalize() in NOT_NAMES else (0, len(name) + 1)


#: titles of nobility, which in Germany are part of the surname (``Graf von Schönborn``)
_NOBILITY = (r"Graf|Gräfin|Freiherr|Freifrau|Freiin|Baron|Baronin|Fürst|Fürstin|Prinz|"
             r"Prinzessin|Herzog|Herzogin|Edler|Edle|Ritter")


@register
class NobilityNameRecognizer(Recognizer):
    """A surname with a title of nobility and its particle (``Graf von Schönborn``,
    ``Freiherr zu Guttenberg``, ``Gräfin von und zu Lerchenfeld``), with the first name
    before it (``Moritz Graf von Schönborn``: a full name's two words would take ``Moritz
    Graf`` and leave the rest); a salutation before it stays."""

    kind = "nobility_name"
    label = "NAME"
    shown_as = SalutationRecognizer.shown_as
    pattern = re.compile(rf"\b(?:{_NAME_WORD}[ \t]+)?(?:{_NOBILITY})[ \t]+(?:von|vom|zu)"
                         rf"(?:[ \t]+(?:und[ \t]+zu|der|dem|den))?[ \t]+{_NAME_WORD}")
    required_any = re.compile(rf"(?:{_NOBILITY})[ \t]+(?:von|vom|zu)[ \t]")
    whole = False  # confirm leaves a salutation before the name

    def confirm(self, candidate: str) -> Span | None:
        first = candidate.split(maxsplit=1)[0]
        start = len(first) + 1 if first in NOT_NAMES else 0
        return start, len(candidate)


@register
class SignOffNameRecognizer(LeadRecognizer):
    """The name under a sign-off (``Viele Grüße\nAnna Berg``, ``i. A. Thomas Berg``): the
    signature of a mail that the CRM keeps. One or two name words, up to the first that is no
    name (``Grüße\nIhr Team``: none)."""

    kind = "sign_off_name"
    label = "NAME"
    shown_as = Localized("names under a greeting or sign-off",
                         "Namen unter Grußformeln und Unterschriften")
    pattern = re.compile(r"\b" + _SIGN_OFF + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + ")?")
    required_any = re.compile(f"{_SIGN_OFFS}|{_SHORT_SIGN_OFFS}")
    lead = re.compile(_SIGN_OFF)

    def after_lead(self, candidate: str, start: int) -> Span | None:
        return _name_words(candidate, start)


def _name_words(candidate: str, start: int) -> Span | None:
    """The words from ``start`` up to the first that is no name (None: the first is none)."""
    end = None
    for word in re.finditer(r"\S+", candidate[start:]):
        if word.group() in NOT_NAMES:
            break
        end = start + word.end()
    return None if end is None else (start, end)


#: a mail's or message's greeting, up to the name it addresses
_GREETINGS = r"Hallo|Hi|Hey|Moin|Servus|Lieber|Liebe|Guten[ \t]+(?:Tag|Morgen|Abend)"


@register
class GreetingNameRecognizer(LeadRecognizer):
    """The name that a mail or message greets, before the greeting's comma (``Moin Hauke,``,
    ``Lieber Jan,``, ``Hallo Anna Berg,``): any name, not only a common first name. Not what a
    greeting addresses that is no name (``Liebe Grüße,``, ``Hallo Team,``); a salutation
    after the greeting is the salutation's (``Hallo Herr Kaminski,``)."""

    kind = "greeting_name"
    label = "NAME"
    shown_as = SignOffNameRecognizer.shown_as
    lead = re.compile(rf"(?:{_GREETINGS})[ \t]+")
    pattern = re.compile(rf"\b{lead.pattern}{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?[ \t]*,")
    required_any = re.compile(rf"(?:{_GREETINGS})[ \t]")

    def after_lead(self, candidate: str, start: int) -> Span | None:
        name = candidate[start:].rstrip(" \t,")
        return None if any(word in NOT_NAMES for word in name.split()) else (start,
                                                                             start + len(name))


#: what a caller or writer says before their own name (``Mein Name ist …``, ``Hier spricht
#: …``, ``My name is …``), as call notes and mails quote them
_SELF_INTRODUCTIONS = (r"[Mm]ein[ \t]+Name[ \t]+(?:ist|lautet)|[Ii]ch[ \t]+hei(?:ß|ss)e|"
                       r"[Hh]ier[ \t]+(?:spricht|ist)|[Mm]y[ \t]+name[ \t]+is|[Tt]his[ \t]+is")


@register
class SelfIntroductionRecognizer(LeadRecognizer):
    """The name that someone gives as their own (``Mein Name ist Lindqvist``, ``hier spricht
    Ragnhild Pfeiffer``, ``My name is …``): any name, rare ones too, past a salutation or
    title; one or two name words, up to the first that is no name (``hier ist Ihre
    Rechnung``: none)."""

    kind = "self_introduction"
    label = "NAME"
    shown_as = Localized("names that someone gives as their own (Mein Name ist …)",
                         "Namen, mit denen sich jemand vorstellt (Mein Name ist …)")
    lead = re.compile(rf"(?:{_SELF_INTRODUCTIONS})[ \t]+(?:(?:{_TITLES_OR_ADDRESSES})[ \t]+){{0,3}}")
    pattern = re.compile(rf"\b{lead.pattern}{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?")
    required_any = re.compile(_SELF_INTRODUCTIONS)

    def after_lead(self, candidate: str, start: int) -> Span | None:
        return _name_words(candidate, start)


#: a registered sole trader (eingetragener Kaufmann): ``e.K.``, ``e. Kfm.``, ``e.Kffr.``
_SOLE_TRADER = r"e\.[ \t]?K(?:fm|ffr|fr)?\."


@register
class SoleTraderNameRecognizer(Recognizer):
    """The name in a sole trader's firm (``Malerbetrieb Hoffmann e.K.``, ``Thomas Berger e.
    Kfm.``): by law it holds the owner's surname, so it names a person, not a company. The one
    or two words before the suffix, less a word that is no name (``Auftrag``); the suffix
    stays."""

    kind = "sole_trader_name"
    label = "NAME"
    shown_as = Localized("the names of sole traders' firms (e.K.)",
                         "Namen der Firmen von Einzelkaufleuten (e.K.)")
    pattern = re.compile(rf"\b{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?[ \t]+{_SOLE_TRADER}")
    required_any = re.compile(_SOLE_TRADER)
    whole = False  # confirm cuts the names out
    suffix = re.compile(rf"[ \t]+{_SOLE_TRADER}$")

    def confirm(self, candidate: str) -> Span | None:
        suffix = self.suffix.search(candidate)
        if suffix is None:
            return None
        names, start = candidate[:suffix.start()], 0
        for word in re.finditer(r"\S+", names):
            if word.group() not in NOT_NAMES:
                break
            start = word.end() + 1
        return None if start >= len(names) else (start, len(names))


#: an initial, or two (``A.-K.``), before a surname (``M. Weber``, ``T.Berger``)
_INITIALS = r"[A-ZÄÖÜ]\.(?:-?[A-ZÄÖÜ]\.)?[ \t]?"


@register
class InitialNameRecognizer(Recognizer):
    """A surname after an initial (``Rückruf an T. Berger``, ``i. A. M. Weber``, ``A.-K.
    Nowak``), as notes and signatures shorten a first name: initial and surname are
    replaced. Not a capitalised word that is no name (``Variante B. Danach``)."""

    kind = "initial_name"
    label = "NAME"
    shown_as = Localized("surnames after an initial", "Nachnamen nach einer Initiale")
    #: an abbreviation's letter before it is read along, for ``confirm`` to refuse: the ``B.``
    #: of ``z.B. Neukunden`` is no initial
    pattern = re.compile(rf"\b(?:[a-zäöü]\.[ \t]?)?{_INITIALS}{_NAME_WORD}")
    #: an initial and a capital after it: most notes hold none
    required_any = re.compile(rf"{_INITIALS}[{_UPPER}]")
    lead = re.compile(rf"(?:[a-zäöü]\.[ \t]?)?{_INITIALS}")

    def confirm(self, candidate: str) -> Span | None:
        m = self.lead.match(candidate)
        if m is None or candidate[0].islower() or candidate[m.end():] in NOT_NAMES:
            return None
        return 0, len(candidate)


def _alternation(words: frozenset[str]) -> str:
    """``words`` as one alternation, grouped by first letter and longest first: Python's
    ``re`` then tries the group of a text's letter, not every word, at each position."""
    return _by_first_letter("|".join(re.escape(word)
                                     for word in sorted(words, key=lambda w: (-len(w), w))))


_FIRST_NAMES = _alternation(FIRST_NAMES)
#: a common first name, hyphenated ones included (``Hans-Peter``); a street named after a
#: person (``Thomas-Mann-Straße``) is read whole, for ``confirm`` to refuse
_FIRST_NAME = rf"{_FIRST_NAMES}(?:-[{_UPPER}][{_LOWER}]+){{0,2}}\b"


def _is_first_name(word: str) -> bool:
    return all(part in FIRST_NAMES for part in word.split("-"))


@register
class FirstNameRecognizer(Recognizer):
    """A person named without a salutation: a common first name (pii/first_names.py), a second
    one and the surname after it (``mit Thomas Berger``, ``an Jürgen``, ``Anna Maria Kühn``).
    The surname is the capitalised word after the first names unless it is no name
    (``Stefan Termin``: the first name alone); a first name that is also a word (``Jan``,
    ``Ernst``) counts only with a surname."""

    kind = "first_name"
    label = "NAME"
    shown_as = Localized("names that begin with a common first name",
                         "Namen, die mit einem häufigen Vornamen beginnen")
    #: the first name's list once (twice, for a second first name, doubled the core's time on
    #: it): whether a second word is a first name is ``confirm``'s to say
    pattern = re.compile(rf"\b{_FIRST_NAME}(?:[ \t]+{_NAME_WORD}){{0,2}}")
    #: the names alone, without the word boundaries: the core's fast engine reads this, and
    #: six notes in ten of the reference mix hold none (its Unicode ``\b`` cost 2 µs a note)
    required_any = re.compile(_FIRST_NAMES)
    whole = False  # confirm cuts a word that is no name off the end

    def confirm(self, candidate: str) -> Span | None:
        words = list(re.finditer(r"\S+", candidate))
        if not _is_first_name(words[0].group()):
            return None  # a street or a compound (``Paul-Lincke-Ufer``)
        end = words[0].end()
        for index, word in enumerate(words[1:], 1):  # name words: one hyphen at most
            if word.group() in NOT_NAMES or (index == 2 and not _is_first_name(words[1].group())):
                break
            end = word.end()
        if end == words[0].end() and words[0].group() in AMBIGUOUS:
            return None
        return 0, end


@register
class FirstNameParticleRecognizer(Recognizer):
    """A common first name and a surname with its particle, without a salutation (``Ursula
    von der Leyen``, ``Sabine von Hohenberg-Kallenbach``, ``Pedro dos Santos``): the first
    name alone left the rest. Not ``Thomas von der Buchhaltung``."""

    kind = "first_name_particle"
    label = "NAME"
    shown_as = FirstNameRecognizer.shown_as
    pattern = re.compile(rf"\b{_FIRST_NAME}[ \t]+{_particles(str.lower, str.lower)}[ \t]+"
                         rf"{_NAME_WORD}")
    #: a first name and a particle: the core's fast engine reads this
    required_any = re.compile(rf"(?:{_FIRST_NAMES})[ \t]+{_any_of(_PARTICLE_WORDS, str.lower)}"
                              r"[ \t]")

    def confirm(self, candidate: str) -> Span | None:
        words = candidate.split()
        if not _is_first_name(words[0]) or words[-1] in NOT_NAMES:
            return None
        return 0, len(candidate)


#: the last part of a street's name, glued (``Goethestraße``, ``Lindenweg``) or a word of its
#: own (``Berliner Straße``, ``Karl-Marx-Allee``). Not ``ufer`` glued (``Verkäufer``), nor
#: ``stieg`` (``Anstieg``) or ``wall`` (``Firewall``): words of a note with a number after them
_STREET_ENDINGS = ("straße strasse str. weg allee platz gasse ring damm chaussee steig pfad "
                   "graben kamp markt")
_STREET_WORDS = _STREET_ENDINGS + " ufer wall"


#: words with a street's ending, or after a preposition, that name no street (a note's nouns
#: with a number after them: ``Zahlungsweg 2``, ``Arbeitsplatz 3``, ``In der Woche 12``)
_NOT_STREETS_TEXT = (
    "Arbeitsplatz Parkplatz Stellplatz Sitzplatz Ausbildungsplatz Studienplatz Kitaplatz "
    "Pflegeplatz Heimplatz Zahlungsweg Lösungsweg Rechtsweg Postweg Rückweg Umweg "
    "Heimweg Dienstweg Lieferweg Versandweg Kommunikationsweg Arbeitsweg Anfahrtsweg Ausweg "
    "Bildungsweg Kontaktweg Vertriebsweg Arbeitsmarkt Aktienmarkt Strommarkt Gasmarkt "
    "Immobilienmarkt Wohnungsmarkt Baumarkt Supermarkt Schlüsselring Ehering "
    "Woche Wochen Jahr Jahre Jahren Monat Monate Monaten Quartal Tag Tage Tagen Stunde Stunden "
    "Minute Minuten Regel Summe Höhe Zeit Zeitraum Rahmen Durchschnitt Schnitt Vergleich "
    "Moment Vorfeld Auftrag Vertrag Fall Fälle Fällen Kunden Anfragen Euro Stück")
NOT_STREETS = frozenset(_NOT_STREETS_TEXT.split())


#: what stands before a street word of its own: an adjective of place (``Berliner``,
#: ``Alte``), a preposition (``Am Markt``, ``An der Alster``)
_STREET_PREPOSITIONS = (r"Am|Im|Zum|Zur|(?:An|Auf|In|Unter|Hinter|Vor|Über|Bei)[ \t]+"
                        r"(?:der|den|dem)")
_STREET = (rf"(?:[{_UPPER}][{_LOWER}]*-){{0,3}}[{_UPPER}][{_LOWER}]*"
           rf"{_any_of(_STREET_ENDINGS, str.lower)}"
           rf"|(?:(?:[{_UPPER}][{_LOWER}]+(?:er|e)|{_STREET_PREPOSITIONS})[ \t]+"
           rf"|(?:[{_UPPER}][{_LOWER}]*-){{1,3}}){_any_of(_STREET_WORDS, str.capitalize)}")
_HOUSE_NUMBER = r"[0-9]{1,3}(?:[ \t]?[a-zA-Z])?(?:[ \t]?[-/][ \t]?[0-9]{1,3}[a-zA-Z]?)?\b"
#: a postcode and its town (``60311 Frankfurt am Main``, ``Halle (Saale)``, ``Bad Homburg``)
_TOWN = (rf"(?:D-)?[0-9]{{5}}[ \t]+(?:Bad[ \t]+)?[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
         rf"(?:[ \t]+(?:am|im|(?:an|in|ob|vor)[ \t]+der)[ \t]+[{_UPPER}][{_LOWER}]+"
         rf"|[ \t]*\([{_UPPER}][{_LOWER}]+\))?")
_THEN_TOWN = rf"(?:[ \t]*,{_SPACE}{{0,3}}|{_SPACE}{{1,3}}(?:in[ \t]+)?){_TOWN}"
#: a street that a preposition names, with any name (``An der Alster``, ``Im Wiesengrund``)
_NAMED_STREET = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"


@register
class StreetAddressRecognizer(Recognizer):
    """A street and house number (``Lindenweg 4``, ``Hauptstr. 17a``, ``Am Markt 3``), with
    the postcode and town after it (``, 50667 Köln``): where a person lives, as a note of a
    move or a delivery keeps it. A street after a preposition with a name of any kind (``An
    der Alster 12``) counts only with its postcode: ``Im Jahr 12`` is none."""

    kind = "street_address"
    label = "ADDRESS"
    shown_as = Localized("street addresses (street and house number, postcode and town)",
                         "Anschriften (Straße und Hausnummer, Postleitzahl und Ort)")
    pattern = re.compile(
        rf"\b(?:(?:{_STREET})[ \t]+{_HOUSE_NUMBER}(?:{_THEN_TOWN})?"
        rf"|(?:{_STREET_PREPOSITIONS})[ \t]+{_NAMED_STREET}[ \t]+{_HOUSE_NUMBER}{_THEN_TOWN})")
    #: a street's word and a number after it, or a postcode and a town: most notes hold
    #: neither, and the pattern (its Unicode word edges) sends the core to a slow engine
    required_any = re.compile(rf"(?:{_any_of(_STREET_WORDS, str.lower)}"
                              rf"|{_any_of(_STREET_WORDS, str.capitalize)})[ \t]+[0-9]"
                              rf"|[0-9]{{5}}[ \t]+[{_UPPER}]")
    min_digits = 1
    street = re.compile(rf"(?:{_STREET}|(?:{_STREET_PREPOSITIONS})[ \t]+\S+)[ \t]")
    town = re.compile(r"[0-9]{5}[ \t]+(\S+)")
    #: a street's first word that may also be a label's (``An der Alster``, ``An:``)
    prepositions = frozenset(re.findall(r"[A-ZÜ]\w*", _STREET_PREPOSITIONS))

    #: a word after a postcode that is no town (``12345 Anfragen``)
    not_towns = NOT_NAMES | NOT_STREETS

    def confirm(self, candidate: str) -> Span | None:
        street = self.street.match(candidate)
        if street is None:
            return None
        words = candidate[:street.end()].split()
        if ((words[0] in NOT_NAMES and words[0] not in self.prepositions)
                or words[-1].rsplit("-", 1)[-1] in NOT_STREETS):
            return None  # ``Die Straße 5``, ``Arbeitsplatz 3``, ``In der Woche 12``
        town = self.town.search(candidate, street.end())
        if town is not None and town.group(1) in self.not_towns:
            return None
        return 0, len(candidate)


@register
class ResidenceRecognizer(LeadRecognizer):
    """Where someone lives, said to be so, on a street with no street word (``wohnt im
    Wiesengrund 3``, ``wohnhaft Auf der Höhe 12``, ``lebt jetzt am Mühlbach 7a``): without a
    postcode only the verb tells such a street from ``Im Jahr 12``. The verb stays."""

    kind = "residence_address"
    label = "ADDRESS"
    shown_as = StreetAddressRecognizer.shown_as
    lead = re.compile(r"(?:wohnt|wohnhaft|lebt|wohnen|leben)(?:[ \t]+(?:jetzt|nun|noch))?[ \t]+")
    #: the street's prepositions, also in lower case after the verb (``wohnt im …``)
    street_prepositions = re.sub(r"\b([A-ZÜ])", lambda m: f"[{m[1]}{m[1].lower()}]",
                          _STREET_PREPOSITIONS)
    pattern = re.compile(rf"\b{lead.pattern}(?:{street_prepositions})[ \t]+{_NAMED_STREET}"
                         rf"[ \t]+{_HOUSE_NUMBER}")
    required_any = re.compile(r"wohn|lebt|leben")
    min_digits = 1
    #: the street's name after its preposition
    street = re.compile(rf"(?:{street_prepositions})[ \t]+({_NAMED_STREET})")

    def after_lead(self, candidate: str, start: int) -> Span | None:
        street = self.street.match(candidate, start)
        name = street.group(1).rsplit("-", 1)[-1] if street is not None else ""
        if not name or name in NOT_STREETS or name in NOT_NAMES:
            return None  # ``wohnt im Haus 3``, ``wohnt im Haus 3 a``
        return start, len(candidate)


@register
class SurnameFirstRecognizer(Recognizer):
    """A name written surname first (``Meier, Thomas``), as lists, exports and mail headers
    write it: a capitalised word, a comma and a common first name, both replaced. Not a word
    that is no name (``Danke, Anna``, ``Hallo, Jürgen``), nor a first name that is also a word
    (``River, Grace``, ``Ende, Jan``)."""

    kind = "surname_first"
    label = "NAME"
    shown_as = FirstNameRecognizer.shown_as
    pattern = re.compile(rf"\b{_NAME_WORD},[ \t]*{_FIRST_NAME}")
    #: a comma and a first name: most notes hold none, and the core's fast engine reads this
    required_any = re.compile(rf",[ \t]*{_FIRST_NAMES}")

    def confirm(self, candidate: str) -> Span | None:
        surname, _, first = candidate.partition(",")
        first = first.strip()
        # a first name that is also a word is one only with a surname after it
        if surname in NOT_NAMES or first in AMBIGUOUS or not _is_first_name(first):
            return None
        return 0, len(candidate)


#: one name of a list after a label: a surname, a first name and a surname, an initial and one
_LISTED_NAME = rf"(?:[{_UPPER}]\.[ \t]?)?{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?"
_LIST_SEPARATOR = r",[ \t]*|[ \t]+(?:und|u\.|&)[ \t]+"


@register
class LabelledNamesRecognizer(LeadRecognizer):
    """Names after a label up to the line's end: surname first, as a forwarded mail's header
    has it (``Von: Kowalski, Jan``: any first name, and ``Jan`` is also a month), or a list
    (``Teilnehmer: Schmidt, Wagner und Becker``). The label alone found the first word only."""

    kind = "labelled_names"
    label = "NAME"
    shown_as = SalutationRecognizer.shown_as
    lead = re.compile(rf"{_LABELS_GROUPED}{_GENDERED}:[ \t]*")
    pattern = re.compile(rf"\b{lead.pattern}{_LISTED_NAME}(?:(?:{_LIST_SEPARATOR}){_LISTED_NAME})+"
                         r"[ \t]*\r?(?m:$)")
    required_any = re.compile(_LABELLED)

    def after_lead(self, candidate: str, start: int) -> Span | None:
        names = candidate[start:].rstrip()
        words = re.split(r"[\s,&]+", names)
        if any(word in NOT_NAMES for word in words):
            return None
        return start, start + len(names)


#: a name's key in a record pasted into a note as JSON (``"lastName": "Berg"``);
#: ``companyName`` is no person's
_NAME_KEY = (r"(?:(?:first|last|full|given|family|middle|maiden|nick|user|contact|customer|"
             r"display)[_ -]?)?name|(?:vor|nach|geburts|familien|ruf)name|surname|forename")


@register
class NameFieldRecognizer(LeadRecognizer):
    """The value of a name's field in a JSON record that a note holds, as an integration or a
    pasted export writes it (``{"firstName":"Anna","lastName":"berg"}``): any value, lower
    case too, up to its quote."""

    kind = "name_field"
    label = "NAME"
    shown_as = Localized("names in a JSON record's name fields",
                         "Namen in den Namensfeldern eines JSON-Datensatzes")
    lead = re.compile(rf"(?i:\"(?:{_NAME_KEY})\"[ \t]*:[ \t]*\")")
    #: (both engines' white space: Python's ``\s`` also takes U+001C–U+001F, the core's not)
    pattern = re.compile(rf"{lead.pattern}[^\"\\\s\x1c-\x1f][^\"\\\n\r]{{0,79}}")
    #: the key's end as its case is written (``"lastName"``, ``"nachname"``): a gate with an
    #: ``=`` or a case-blind one made the core's one scan of all gates a third slower on
    #: name-dense notes (benchmarks/scrub_quality.py)
    required_any = re.compile(r"[Nn]ame\"")

    def after_lead(self, candidate: str, start: int) -> Span | None:
        value = candidate[start:].rstrip()
        return start, start + len(value)


@register
class KnownNameRecognizer(Recognizer):
    """Names of the CRM's own people (pii/names.py): found by the name set that the scrub
    action is compiled with, not by a pattern of its own."""

    kind = "name"
    shown_as = Localized("the names of the people that the CRM holds",
                         "Namen der im CRM geführten Personen")
    by_pattern = False
    pattern = re.compile(r"(?!)")  # never: ``find_all`` asks the names

    def find(self, text: str) -> Iterator[Span]:
        return iter(())


def find_all(text: str, kinds: list[str] | None = None,
             names: NameLexicon | None = None) -> list[tuple[int, int, str]]:
    """Non-overlapping findings (start, end, kind) in ``text``, earliest and then longest
    first; the recognizers read the text normalised (pii/normalize.py), the spans are the
    original's. ``names``: the CRM's known names, for the ``name`` kind."""
    read = normalize(text)
    spans = [
        (*read.span_in_original(start, end), kind)
        for kind in (kinds or recognizer_kinds())
        for start, end in (_RECOGNIZERS[kind].find(read.text) if _RECOGNIZERS[kind].by_pattern
                           else names.find(read.text) if names is not None else ())
    ]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    chosen: list[tuple[int, int, str]] = []
    for span in spans:
        if not chosen or span[0] >= chosen[-1][1]:
            chosen.append(span)
    return chosen
