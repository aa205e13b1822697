"""A labelled corpus of German CRM free text: notes and subjects as people write them, with the
span of every name and identifier in them (the ground truth of `benchmarks/scrub_quality.py`).

Known people are the CRM's contacts (their names are in its master data); unknown people are
named after a salutation, title, kinship word or role, under a mail's sign-off, or bare.
Identifiers come plain and in the forms that copy-paste and obfuscation produce. Dates,
amounts, contract and customer numbers, addresses, times and typos are text that no detector
may take.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from processor.generator.rows import (
    FIRST,
    KIN,
    LAST,
    UNKNOWN_FIRST,
    UNKNOWN_LAST,
    iban,
    mobile,
    phone,
    tax_id,
)

SALUTATIONS = ["Frau", "Herr", "Herrn", "Hr.", "Fr.", "Dr.", "Frau Dr.", "Herr Prof.", "Familie",
               "Hr", "Kd.", "VN", "Frau Rechtsanwältin", "Mr.", "Mrs"]
CARDS = ["4111 1111 1111 1111", "5500 0000 0000 0004", "4012888888881881", "3782 822463 10005"]
#: text that looks like an identifier or a name to a careless detector, and is none
DECOYS = ["am 12.03.2026", "bis 3.5.26", "Betrag 1.234,56 €", "89,90 EUR monatlich",
          "Vertrag V-0123456", "Kundennr. KD-4711", "Parkplatz 12", "Zahlungsweg 2",
          "um 14:30 Uhr", "Zählerstand 004512", "Rechnung 2026-0815", "Tarif Strom Basis 24",
          "PLZ 80331", "Seite 2 von 3", "Version 1.2.3", "Raum 0.12",
          # first names that are words, dates, brands or streets here
          "ab 15. Jan 2026", "Fritz!Box getauscht", "Thomas-Mann-Straße", "Max. Leistung 11 kW",
          "Bestellung bei Otto", "Ernst der Lage"]
TYPOS = ["Rüchruf", "Telefn", "Kunde hat angerfen", "Untrlagen", "bitte zurückrufn"]
#: German words that are also surnames of the reference CRM (LAST): a capitalised noun is no
#: name, and a detector that cannot tell loses precision here
HOMONYMS = ["Arbeitet als Koch in Köln", "Der Richter hat entschieden", "Der Bauer liefert",
            "Weber-Karde im Garten", "Wolf im Wald gesichtet", "Schneider hat die Hose gekürzt",
            "Fischer am Hafen"]
#: how a business note or a mail names people the CRM does not know, besides salutations
ROLES = ["Ansprechpartner:", "Ansprechpartnerin", "Kontaktperson:", "Gesprächspartnerin",
         "Sachbearbeiterin", "Makler", "Geschäftsführer"]
PARTICLES = ["von", "von der", "van", "van der", "de", "da"]
SIGN_OFFS = ["Viele Grüße\n", "Mit freundlichen Grüßen\n\n", "Gruß ", "i. A. ", "MfG, ",
             "Best regards,\n", "VG, ", "LG\n"]
#: first names that no list of common names holds (pii/first_names.py): a person named bare
#: with one of these is found only if the CRM knows them
RARE_FIRST = ["Zdenka", "Kunigunde", "Eyerusalem", "Thorbjörn", "Oluwaseun", "Radomir",
              "Xiomara", "Ragnhild"]
#: streets as notes write them: glued, a word of their own, after a preposition (these only
#: with a postcode: ``Am Markt`` is a street word, ``An der Alster`` is not)
STREETS = ["Lindenweg", "Goethestraße", "Hauptstr.", "Bahnhofstraße", "Karl-Marx-Allee",
           "Berliner Straße", "Am Markt", "Kirchgasse", "Schillerplatz", "Kurfürstendamm",
           "Mühlenweg", "Rosenstrasse", "Paul-Lincke-Ufer"]
STREETS_WITH_TOWN = ["An der Alster", "Im Wiesengrund", "Zur Mühle", "Auf dem Berg"]
TOWNS = ["Köln", "München", "Frankfurt am Main", "Halle (Saale)", "Bad Homburg", "Berlin",
         "Neustadt-Glewe", "Görlitz"]
ZERO_WIDTH, NBSP, THIN = "\u200b", "\u00a0", "\u2009"


@dataclass
class Labelled:
    """A text and its ground truth: (start, end, kind) of every name and identifier."""

    text: str = ""
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, text: str, kind: str | None = None) -> Labelled:
        if kind is not None:
            self.spans.append((len(self.text), len(self.text) + len(text), kind))
        self.text += text
        return self


#: a part of a sentence that writes itself into the note
Writer = Callable[[Labelled], object]


def _umlaut_spelling(name: str, rng: random.Random) -> str:
    """The name as people also write it: transliterated, upper case, or as it is."""
    form = rng.random()
    if form < 0.15:
        return name.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    if form < 0.22:
        return name.upper()
    return name


def _phone(rng: random.Random) -> str:
    number = phone(rng, rng.choice(["30", "40", "89", "221"])) if rng.random() < 0.6 \
        else mobile(rng)
    form = rng.random()
    if form < 0.15:
        return number.replace(" ", NBSP)
    if form < 0.25:
        return number.replace(" ", THIN)
    if form < 0.32:
        digits = number.replace(" ", "")
        cut = rng.randrange(4, len(digits) - 2)
        return digits[:cut] + ZERO_WIDTH + digits[cut:]
    if form < 0.37:  # a word processor's dash between the groups
        return number.replace(" ", rng.choice([" \u2013 ", "\u2013"]), 1)
    return number


def _iban(rng: random.Random) -> str:
    compact = iban(rng).replace(" ", "")
    groups = [compact[i:i + 4] for i in range(0, len(compact), 4)]
    return rng.choice([" ", " ", "", "-", ".", NBSP]).join(groups)


def _birth_date(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1930, 2005)
    written = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
               "September", "Oktober", "November", "Dezember"][month - 1]
    return rng.choice([f"{day:02}.{month:02}.{year}", f"{day}.{month}.{year % 100:02}",
                       f"{year}-{month:02}-{day:02}", f"{day}. {written} {year}"])


def _email(rng: random.Random, first: str, last: str) -> str:
    local = f"{first}.{last}".lower()
    local = local.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    domain = rng.choice(["web.de", "gmx.de", "posteo.de", "t-online.de", "firma.example"])
    form = rng.random()
    if form < 0.1:
        return f"{local}(at){domain}"
    if form < 0.18:
        name, tld = domain.rsplit(".", 1)
        return f"{local} [at] {name} [dot] {tld}"
    if form < 0.24:
        return f"{local}\uff20{domain}"
    if form < 0.3:  # written out without brackets, or the @ spaced
        name, tld = domain.rsplit(".", 1)
        return rng.choice([f"{local} at {name} dot {tld}", f"{local} @ {domain}",
                           f"{local.replace('.', ' punkt ')} at {name} punkt {tld}"])
    return f"{local}@{domain}"


def _profile_url(rng: random.Random) -> str:
    first, last = (n.lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
                   .replace("ß", "ss") for n in (rng.choice(UNKNOWN_FIRST), rng.choice(UNKNOWN_LAST)))
    return rng.choice([f"https://www.linkedin.com/in/{first}-{last}-{rng.randint(1000, 9999)}/",
                       f"linkedin.com/in/{first}{last}",
                       f"https://www.xing.com/profile/{first.title()}_{last.title()}"])


def _social_security_number(rng: random.Random) -> str:
    """A pension insurance number: area, date of birth, initial, serial and check digit."""
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 99)
    number = (f"{rng.randint(10, 99)} {day:02}{month:02}{year:02} {rng.choice('ABKMSW')} "
              f"{rng.randint(0, 999):03}")
    return number if rng.random() < 0.5 else number.replace(" ", "")


def _address(rng: random.Random) -> str:
    """A street, a house number and, for some, the postcode and town."""
    town = f"{rng.randint(1001, 99998):05} {rng.choice(TOWNS)}"
    if rng.random() < 0.2:
        return f"{rng.choice(STREETS_WITH_TOWN)} {rng.randint(1, 99)}, {town}"
    number = f"{rng.randint(1, 199)}{rng.choice(['', '', '', 'a', ' b', '-3'])}"
    tail = rng.choice(["", "", f", {town}", f"\n{town}", f" in {town}"])
    return f"{rng.choice(STREETS)} {number}{tail}"


def _id_document(rng: random.Random) -> str:
    """The number of an identity card or passport: the German alphabet, two digits at least."""
    letters = "CFGHJKLMNPRTVWXYZ"
    chars = [rng.choice(letters)] + [rng.choice(letters + "0123456789") for _ in range(6)]
    return "".join(chars) + f"{rng.randint(10, 99)}"


def _health_insurance_number(rng: random.Random) -> str:
    """The lifelong number on a German health card: a letter and nine digits."""
    return rng.choice(string.ascii_uppercase) + f"{rng.randrange(10 ** 9):09}"


def _mac_address(rng: random.Random) -> str:
    separator = rng.choice(":-")
    return separator.join(f"{rng.randrange(256):02{rng.choice('xX')}}" for _ in range(6))


def _secret(rng: random.Random) -> str:
    """A password as support notes give one: a word, digits, a sign."""
    return (rng.choice(["Sommer", "Hund", "Bayern", "Passau", "Tulpe"])
            + str(rng.randint(1, 2025)) + rng.choice(["!", "?", "#", ""]))


def _meter_id(rng: random.Random) -> str:
    """An electricity meter's number (a digit, the maker's letters, the year, a serial) or a
    market location's eleven digits."""
    if rng.random() < 0.5:
        return f"{rng.randint(1, 9)}{rng.choice(['ESY', 'EMH', 'ITF', 'LGZ'])}" \
               f"{rng.randint(10, 25)}{rng.randrange(10 ** 8):08}"
    return f"{rng.randint(1, 9)}{rng.randrange(10 ** 10):010}"


def _license_plate(rng: random.Random) -> str:
    district = rng.choice(["M", "B", "HH", "K", "LÖ", "TÜ", "BAD"])
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 2)))
    return f"{district}-{letters} {rng.randint(1, 9999)}{rng.choice(['', '', 'E', 'H'])}"


def _ip_address(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randint(0, 0xffff):x}::{rng.randint(1, 0xffff):x}"
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _tax_number(rng: random.Random) -> str:
    """A Steuernummer in a federal state's form (BB/BBB/UUUUP or BBB/BBB/UUUUP)."""
    return f"{rng.randint(10, 999)}/{rng.randint(100, 999)}/{rng.randint(10000, 99999)}"


def _tax_id(rng: random.Random) -> str:
    raw = tax_id(rng)
    form = rng.random()
    if form < 0.3:
        return f"{raw[:2]}/{raw[2:5]}/{raw[5:8]}/{raw[8:]}"
    if form < 0.6:
        return f"{raw[:2]} {raw[2:5]} {raw[5:8]} {raw[8:]}"
    return raw


class CorpusWriter:
    """Writes labelled notes about the given known people, by seed."""

    def __init__(self, seed: int, known: list[tuple[str, str]]) -> None:
        self.rng = random.Random(seed)
        self.known = known

    def _known_name(self, out: Labelled) -> None:
        rng = self.rng
        first, last = rng.choice(self.known)
        form = rng.random()
        if form < 0.35:
            out.add(_umlaut_spelling(first, rng), "name_known").add(" ")
            out.add(_umlaut_spelling(last, rng), "name_known")
        elif form < 0.55:
            out.add(rng.choice(["Frau", "Herr", "Herrn"]) + " ")
            out.add(_umlaut_spelling(last, rng), "name_known")
        elif form < 0.7:
            out.add(_umlaut_spelling(last, rng) + "s", "name_known")  # possessive
        elif form < 0.8:
            other = rng.choice(self.known)[1]
            out.add(last, "name_known").add("-").add(other, "name_known")
        else:
            out.add(_umlaut_spelling(first, rng), "name_known")

    def _bare_unknown_name(self, out: Labelled) -> None:
        """Someone the CRM does not know, named without a salutation (reported apart:
        ``name_unknown_bare``): half with a common first name, which the first-name
        detector knows, half with a rare one, which only a language model could find."""
        rng = self.rng
        first = rng.choice(UNKNOWN_FIRST if rng.random() < 0.5 else RARE_FIRST)
        out.add(first, "name_unknown_bare").add(" ")
        out.add(rng.choice(UNKNOWN_LAST), "name_unknown_bare")

    def _typo_name(self, out: Labelled) -> None:
        """A known surname mistyped as fast typing does (``name_known_typo``): two letters
        swapped, a letter doubled or one of a pair left out, an umlaut without its dots."""
        rng = self.rng
        last = rng.choice(self.known)[1]
        slip = rng.random()
        i = rng.randrange(1, len(last) - 1)
        if slip < 0.5:
            typo = last[:i] + last[i + 1] + last[i] + last[i + 2:]
        elif slip < 0.8:
            typo = (last[:i] + last[i + 1:] if last[i] == last[i - 1]
                    else last[:i + 1] + last[i:])
        else:
            typo = last.translate(str.maketrans("äöüÄÖÜ", "aouAOU"))
        out.add(rng.choice(["Frau ", "Herr ", ""]))
        out.add(typo, "name_known_typo" if typo != last else "name_known")

    def _unknown_name(self, out: Labelled) -> None:
        rng = self.rng
        first, last = rng.choice(UNKNOWN_FIRST), rng.choice(UNKNOWN_LAST)
        form = rng.random()
        if form < 0.4:
            out.add(rng.choice(SALUTATIONS) + " ").add(last, "name_unknown")
        elif form < 0.5:  # a first name shortened to its initial
            out.add(rng.choice(["", "Frau ", "Herrn "]))
            out.add(f"{first[0]}.{rng.choice([' ', ''])}{last}", "name_unknown")
        else:
            out.add(rng.choice(KIN) + " ").add(first, "name_unknown").add(" ")
            out.add(last, "name_unknown")

    def _role_name(self, out: Labelled) -> None:
        """Someone the CRM does not know, named by a role (``Ansprechpartnerin: …``)."""
        rng = self.rng
        out.add(rng.choice(ROLES) + " ").add(rng.choice(UNKNOWN_FIRST), "name_unknown").add(" ")
        out.add(rng.choice(UNKNOWN_LAST), "name_unknown")

    def _particle_name(self, out: Labelled) -> None:
        """A surname with a particle after a salutation (the particle is part of the name)."""
        rng = self.rng
        out.add(rng.choice(["Frau", "Herr", "Herrn", "Frau Dr."]) + " ")
        out.add(rng.choice(PARTICLES) + " " + rng.choice(UNKNOWN_LAST), "name_unknown")

    def _signature(self, out: Labelled) -> None:
        """A mail's sign-off and the name under it, or a team that is no name."""
        rng = self.rng
        out.add(rng.choice(SIGN_OFFS))
        if rng.random() < 0.2:
            out.add(rng.choice(["Ihr Team Vertrieb", "Ihre Stadtwerke", "Das Service-Team"]))
            return
        out.add(rng.choice(UNKNOWN_FIRST), "name_unknown")
        if rng.random() < 0.6:
            out.add(" ").add(rng.choice(UNKNOWN_LAST), "name_unknown")

    def note(self) -> Labelled:
        """One note: two to four sentences, each written part by part (a part is text, or
        writes itself: a name, a labelled identifier, a randomly chosen piece of text)."""
        rng, out = self.rng, Labelled()

        def value(kind: str | None, make: Callable[[], str]) -> Writer:
            return lambda o: o.add(make(), kind)

        sentences: list[tuple[str | Writer, ...]] = [
            ("Rückruf ", self._known_name, "."),
            (self._known_name, " bittet um Rückruf unter ", value("phone", lambda: _phone(rng)),
             "."),
            ("Neue Mailadresse: ", value("email", lambda: _email(rng, *rng.choice(self.known))),
             ", bitte ändern."),
            ("Lastschrift künftig von ", value("iban", lambda: _iban(rng)), " einziehen."),
            ("Steuer-ID ", value("tax_id", lambda: _tax_id(rng)), " liegt vor."),
            ("Profil: ", value("profile_url", lambda: _profile_url(rng)), " ansehen."),
            ("Rente beantragt, ", value(None, lambda: rng.choice(["SV-Nr. ", "Versicherungsnummer: "])),
             value("social_security_number", lambda: _social_security_number(rng)), " liegt vor."),
            ("Rechnung mit ", value(None, lambda: rng.choice(["St.-Nr. ", "Steuernummer: "])),
             value("tax_id", lambda: _tax_number(rng)), " erhalten."),
            ("Zahlt per Karte ", value("card", lambda: rng.choice(CARDS)), "."),
            (self._unknown_name, " hat Vollmacht, Tel. ", value("phone", lambda: _phone(rng)),
             "."),
            ("Gespräch mit ", self._unknown_name, " wegen Umzug."),
            ("Termin ", value(None, lambda: rng.choice(DECOYS)), ", ",
             value(None, lambda: rng.choice(DECOYS)), "."),
            (value(None, lambda: rng.choice(TYPOS)), ", ", value(None, lambda: rng.choice(DECOYS)),
             "."),
            ("Rückfrage von ", self._bare_unknown_name, "."),
            # where someone lives, on a street with no street word
            ("Kunde wohnt ", value(None, lambda: rng.choice(["im ", "am ", "auf der "])),
             value("address", lambda: f"{rng.choice(['Wiesengrund', 'Mühlbach', 'Heide'])} "
                                      f"{rng.randint(1, 99)}"), " in Bad Homburg."),
            # a couple as a contract names them; a colleague mentioned by user name
            ("Vertrag mit ", value(None, lambda: rng.choice(["Eheleute ", "Familie "])),
             value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST)), " und ",
             value("name_unknown", lambda: rng.choice(RARE_FIRST)), " ",
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), " unterschrieben."),
            ("Bitte übernehmen ", value("name_unknown", lambda: "@" + rng.choice(UNKNOWN_LAST)),
             ", danke."),
            # a message's greeting: any first name, rare ones too
            (value(None, lambda: rng.choice(["Hallo ", "Moin ", "Liebe ", "Guten Tag "])),
             value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST + RARE_FIRST)),
             ", danke für die Nachricht."),
            # a quick note typed in lower case on a phone
            ("rückruf ", value(None, lambda: rng.choice(["herr ", "frau ", "hr. ", "fr. "])),
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST).lower()), " wg angebot"),
            (value(None, lambda: rng.choice(HOMONYMS)), "."),
            ("Rückruf ", self._typo_name, "."),
            # a forwarded mail's header, surname first; a parcel's addressee
            ("Weitergeleitet:\nVon: ", value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)),
             ", ", value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST + RARE_FIRST)),
             "\nBetreff: Kündigung"),
            ("Lieferung an c/o ", value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)),
             ", Hinterhaus."),
            # a caller's own name, as a call note quotes it
            (value(None, lambda: rng.choice(["Anruf: „Mein Name ist ", "Mailbox: „Hier spricht ",
                                             "Mail: „Guten Tag, mein Name ist "])),
             value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST + RARE_FIRST)), " ",
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), ", bitte um Rückruf.“"),
            # who took part, as a list; a surname with its particle after a first name; the
            # genealogical star after a name
            ("Teilnehmer: ", value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), ", ",
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), " und ",
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), "\nThema: Angebot"),
            ("Gespräch mit ", value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST)),
             value(None, lambda: rng.choice([" von ", " von der ", " van ", " de "])),
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), " wegen Umzug."),
            ("Kontoinhaber ", value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST)), " ",
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), ", * ",
             value("birth_date", lambda: _birth_date(rng)), "."),
            ("Laut ", self._known_name, " ist die Kündigung ",
             value(None, lambda: rng.choice(DECOYS)), " eingegangen."),
            (self._role_name, ", Einkauf, bittet um ein Angebot."),
            ("Gespräch mit ", self._particle_name, " wegen Umzug."),
            ("Angebot erhalten, danke. ", self._signature),
            ("Umzug: neue Anschrift ", value("address", lambda: _address(rng)),
             " ab sofort."),
            ("Identität geprüft, ", value(None, lambda: rng.choice([
                "Personalausweis-Nr. ", "Ausweisnummer: ", "Reisepass ", "Pass-Nr. "])),
             value("id_document", lambda: _id_document(rng)), " notiert."),
            ("Schaden gemeldet, ", value(None, lambda: rng.choice([
                "Kfz-Kennzeichen ", "Kennzeichen: ", "amtl. Kennzeichen "])),
             value("license_plate", lambda: _license_plate(rng)), " notiert."),
            ("Rezept eingelöst, ", value(None, lambda: rng.choice([
                "KVNR: ", "Versichertennummer ", "Krankenversichertennummer "])),
             value("health_insurance_number", lambda: _health_insurance_number(rng)),
             " notiert."),
            ("Router getauscht, MAC ", value("mac_address", lambda: _mac_address(rng)),
             ", Passwort: ", value("credential", lambda: _secret(rng)), ", Kunde informiert."),
            ("Zählerwechsel, ", value(None, lambda: rng.choice([
                "Zählernummer ", "Zähler-Nr. ", "MaLo-ID: "])),
             value("meter_id", lambda: _meter_id(rng)), ", Zählerstand 004512 notiert."),
            ("Login gesperrt, IP ", value("ip_address", lambda: _ip_address(rng)), " notiert."),
            ("Teilnehmer: ", value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)), ", ",
             value("name_unknown", lambda: rng.choice(UNKNOWN_FIRST)), "; Protokoll folgt."),
            ("Auftrag von ", value(None, lambda: rng.choice(["Bäckerei ", "Malerbetrieb ", ""])),
             value("name_unknown", lambda: rng.choice(UNKNOWN_LAST)),
             value(None, lambda: rng.choice([" e.K.", " e. K.", " e.Kfm."])), " erhalten."),
            # a comma after the date: a date written out holds ". ", and the scoring, which
            # aligns the scrubbed text with the note, could not tell it from a sentence's end
            ("Ausweis geprüft, ", value(None, lambda: rng.choice(["geb. ", "Geburtsdatum: ",
                                                                  "geboren am ", "geb. am "])),
             value("birth_date", lambda: _birth_date(rng)), ", Kopie liegt vor."),
            # an English mail's date of birth, the month first
            ("Customer verified, DOB: ", value("birth_date", lambda: (
                f"{rng.randint(1, 12):02}/{rng.randint(1, 28):02}/{rng.randint(1930, 2005)}")),
             ", copy on file."),
            # a year of birth alone, a birthday without its year, whose birthday it is
            ("Rente beantragt, ", value(None, lambda: rng.choice(["Jahrgang ", "geb. ", "Jg. "])),
             value("birth_date", lambda: str(rng.randint(1930, 2005))), ", Bescheid folgt."),
            (value(None, lambda: rng.choice(["Geburtstag des Kunden: ", "Geburtstag: ",
                                             "Geburtstag der Kundin ist am "])),
             value("birth_date", lambda: f"{rng.randint(1, 28)}.{rng.randint(1, 12)}."),
             ", Karte schicken."),
        ]
        for i in range(rng.randrange(2, 5)):
            if i:
                out.add(" ")
            for part in rng.choice(sentences):
                if isinstance(part, str):
                    out.add(part)
                else:
                    part(out)
        return out


def known_people(seed: int, count: int) -> list[tuple[str, str]]:
    """The contacts whose names the CRM knows (drawn from the generator's lists)."""
    rng = random.Random(seed)
    return [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(count)]


def corpus(seed: int, notes: int, known: list[tuple[str, str]]) -> list[Labelled]:
    writer = CorpusWriter(seed, known)
    return [writer.note() for _ in range(notes)]
