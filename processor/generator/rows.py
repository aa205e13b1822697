"""Realistic German CRM rows with valid identifiers (IBAN checksums, Steuer-IDs), by seed."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

from stdnum import iban as iban_mod
from stdnum.iso7064 import mod_11_10

FIRST = ["Anna", "Lukas", "Marie", "Jonas", "Sophie", "Leon", "Emma", "Felix", "Mia", "Paul",
         "Hannah", "Elias", "Lea", "Noah", "Lena", "Ben", "Jürgen", "Özlem", "Zoë", "Björn"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Yılmaz"]
#: people the CRM does not know (no contact, no user): none of these is in FIRST or LAST
UNKNOWN_FIRST = ["Gertrud", "Wilfried", "Hildegard", "Reinhard", "Ursula", "Detlef", "Ingrid",
                 "Horst", "Waltraud", "Günther", "Svetlana", "Mehmet", "Agnieszka", "Dieter"]
UNKNOWN_LAST = ["Kowalczyk", "Brandstätter", "Nguyen", "Papadopoulos", "Hinrichsen",
                "Oberländer", "Janßen", "Öztürk", "Lindqvist", "Grabowski", "Pfeiffer",
                "Dąbrowski", "Wiesenthal", "Kühnel"]
KIN = ["Ehemann", "Ehefrau", "Tochter", "Sohn", "Mutter", "Vater", "Bruder", "Schwester",
       "Nachbarin", "Betreuer"]
CITIES = [("10115", "Berlin", "30"), ("20095", "Hamburg", "40"), ("80331", "München", "89"),
          ("50667", "Köln", "221"), ("60311", "Frankfurt am Main", "69"),
          ("70173", "Stuttgart", "711"), ("40213", "Düsseldorf", "211"), ("04109", "Leipzig", "341")]
STREETS = ["Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße", "Lindenallee", "Am Markt"]
MAIL_DOMAINS = ["web.de", "gmx.de", "t-online.de", "posteo.de", "example.com", "mail.de"]
SEGMENTS = ["retail", "premium", "private_banking", "sme"]
INCOME = ["<20k", "20-40k", "40-60k", "60-100k", ">100k"]
INDUSTRIES = ["Handwerk", "Einzelhandel", "IT", "Gastronomie", "Logistik", "Beratung"]
PRODUCTS = ["Girokonto", "Tagesgeld", "Depot", "Baufinanzierung", "Haftpflicht",
            "Berufsunfähigkeit", "Krankenzusatz"]
ROLES = ["sales", "service", "marketing", "bi_analyst", "admin", "external"]
DEPARTMENTS = {"sales": "Vertrieb", "service": "Kundenservice", "marketing": "Marketing",
               "bi_analyst": "BI", "admin": "IT", "external": "Partner"}
HEALTH = ["Diabetes Typ 2", "Rückenleiden", "Allergie gegen Penicillin", "Bluthochdruck"]
ACTIVITY_TYPES = ["call", "email", "meeting", "note"]
EPOCH_2026 = 20_454  # days since 1970-01-01 of 2026-01-01


def iban(rng: random.Random) -> str:
    bban = f"{rng.randrange(10**8):08d}{rng.randrange(10**10):010d}"
    check = iban_mod.calc_check_digits("DE00" + bban)
    return iban_mod.format(f"DE{check}{bban}")


def tax_id(rng: random.Random) -> str:
    """An 11-digit Steuer-ID: one digit twice among the first ten, check digit ISO 7064."""
    digits = rng.sample("123456789", 1) + rng.sample([d for d in "0123456789"], 8)
    while len(set(digits)) != 9:
        digits = rng.sample("123456789", 1) + rng.sample("0123456789", 8)
    digits.insert(rng.randrange(1, 10), rng.choice(digits))
    body = "".join(digits[:10])
    return body + mod_11_10.calc_check_digit(body)


def phone(rng: random.Random, area: str) -> str:
    return f"+49 {area} {rng.randrange(1_000_000, 9_999_999)}"


def mobile(rng: random.Random) -> str:
    return f"0{rng.choice(['151', '160', '170', '171', '176'])} {rng.randrange(1_000_000, 99_999_999)}"


def decimal_b64(amount_cents: int) -> str:
    length = max(1, (amount_cents.bit_length() + 8) // 8)
    return base64.b64encode(amount_cents.to_bytes(length, "big", signed=True)).decode()


def micros(ts_ms: int) -> int:
    return ts_ms * 1000


class RowFactory:
    """Makes and changes rows. Ids are allocated per table so references stay consistent."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def email(self, first: str, last: str) -> str:
        local = f"{first}.{last}".lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
        return f"{local}{self.rng.randrange(100)}@{self.rng.choice(MAIL_DOMAINS)}"

    def note(self, first: str, last: str, area: str) -> str:
        rng = self.rng
        templates = [
            "Kunde bittet um Rückruf unter {phone}.",
            "Neue Mailadresse: {email}, bitte im System ändern.",
            "Lastschrift künftig von {iban} einziehen.",
            "Termin vereinbart, Unterlagen per Post.",
            "Hat Interesse an Depot, Rückfragen an {email} oder {mobile}.",
            "{salutation} {last} ist umgezogen, neue Nummer {phone}.",
            "{first} {last} bittet um Rückruf, {kin} {other} hat Vollmacht.",
            "Rückruf {salutation} {last}: Vertrag läuft aus.",
        ]
        return rng.choice(templates).format(
            phone=phone(rng, area), email=self.email(first, last), iban=iban(rng),
            mobile=mobile(rng), first=first, last=last,
            salutation=rng.choice(["Frau", "Herr", "Herrn"]), kin=rng.choice(KIN),
            other=f"{rng.choice(UNKNOWN_FIRST)} {rng.choice(UNKNOWN_LAST)}")

    def contact(self, id_: int, ts_ms: int, n_accounts: int, n_users: int) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        zip_, city, area = rng.choice(CITIES)
        consent = rng.random() < 0.6
        return {
            "id": id_, "salutation": rng.choice(["Herr", "Frau", None]), "first_name": first,
            "last_name": last, "email": self.email(first, last), "phone": phone(rng, area),
            "mobile": mobile(rng) if rng.random() < 0.7 else None,
            "birth_date": rng.randrange(-15_000, 11_000), "street": rng.choice(STREETS),
            "house_number": str(rng.randrange(1, 200)), "zip": zip_, "city": city,
            "country": "DE", "iban": iban(rng), "tax_id": tax_id(rng),
            "account_id": rng.randrange(1, n_accounts + 1) if rng.random() < 0.3 else None,
            "owner_user_id": rng.randrange(1, n_users + 1), "segment": rng.choice(SEGMENTS),
            "income_band": rng.choice(INCOME), "credit_score": rng.randrange(300, 850),
            "lifetime_value": decimal_b64(rng.randrange(0, 50_000_00)),
            "consent_marketing": consent, "consent_updated_at": micros(ts_ms - rng.randrange(10**10)),
            "health_notes": rng.choice(HEALTH) if rng.random() < 0.05 else None,
            "notes": self.note(first, last, area) if rng.random() < 0.5 else None,
            "created_at": micros(ts_ms), "updated_at": micros(ts_ms),
        }

    def account(self, id_: int, ts_ms: int, n_users: int) -> dict[str, Any]:
        rng = self.rng
        zip_, city, _ = rng.choice(CITIES)
        sole = rng.random() < 0.3
        name = (f"{rng.choice(FIRST)} {rng.choice(LAST)} e.K." if sole
                else f"{rng.choice(LAST)} {rng.choice(['GmbH', 'AG', 'KG'])}")
        return {
            "id": id_, "name": name, "vat_id": f"DE{rng.randrange(10**8, 10**9)}",
            "industry": rng.choice(INDUSTRIES), "employees": 1 if sole else rng.randrange(2, 5000),
            "annual_revenue": decimal_b64(rng.randrange(10**6, 10**10)),
            "street": f"{rng.choice(STREETS)} {rng.randrange(1, 200)}", "zip": zip_, "city": city,
            "country": "DE", "owner_user_id": rng.randrange(1, n_users + 1),
            "created_at": micros(ts_ms), "updated_at": micros(ts_ms),
        }

    def contract(self, id_: int, ts_ms: int, n_contacts: int, n_accounts: int) -> dict[str, Any]:
        rng = self.rng
        start = EPOCH_2026 - rng.randrange(0, 3650)
        return {
            "id": id_, "contact_id": rng.randrange(1, n_contacts + 1),
            "account_id": rng.randrange(1, n_accounts + 1) if rng.random() < 0.2 else None,
            "product": rng.choice(PRODUCTS), "contract_number": f"V-{rng.randrange(10**7):07d}",
            "start_date": start,
            "end_date": start + rng.randrange(365, 3650) if rng.random() < 0.3 else None,
            "monthly_fee": decimal_b64(rng.randrange(0, 50_000)), "iban": iban(rng),
            "status": rng.choice(["active", "active", "active", "cancelled", "pending"]),
            "signed_at": micros(ts_ms - rng.randrange(10**9)),
        }

    def activity(self, id_: int, ts_ms: int, n_contacts: int, n_users: int,
                 contact: Callable[[int], dict[str, Any] | None] = lambda _: None
                 ) -> dict[str, Any]:
        """An activity about a contact; its text names that contact when it is live."""
        rng = self.rng
        contact_id = rng.randrange(1, n_contacts + 1)
        row = contact(contact_id)
        first, last = ((row["first_name"], row["last_name"]) if row is not None
                       else ("Kunde", "unbekannt"))  # a deleted contact: no name at hand
        area = rng.choice(CITIES)[2]
        return {
            "id": id_, "contact_id": contact_id,
            "user_id": rng.randrange(1, n_users + 1), "type": rng.choice(ACTIVITY_TYPES),
            "subject": rng.choice(["Rückruf", "Beratung", "Beschwerde", "Vertragsänderung",
                                   f"Anfrage von {self.email(first, last)}"]),
            "body": f"Gespräch mit {first} {last}. " + self.note(first, last, area),
            "occurred_at": micros(ts_ms),
        }

    def user(self, id_: int, role: str | None = None, active: bool = True) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        role = role or rng.choices(ROLES, weights=[40, 25, 10, 10, 5, 10])[0]
        return {
            "id": id_, "username": f"{first[0]}{last}{id_}".lower(),
            "full_name": f"{first} {last}", "email": f"{first}.{last}@crm-firma.example".lower(),
            "role": role, "department": DEPARTMENTS[role], "active": active,
            "deactivated_at": None,
        }

    def audit(self, id_: int, ts_ms: int, user_id: int, action: str, record_count: int,
              classification: str = "personal", object_type: str = "contact") -> dict[str, Any]:
        rng = self.rng
        return {
            "id": id_, "user_id": user_id, "action": action, "object_type": object_type,
            "record_count": record_count, "classification": classification,
            "client_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "user_agent": rng.choice(["Mozilla/5.0 (Windows NT 10.0)", "CRM-Desktop/7.2",
                                      "python-requests/2.32"]),
            "occurred_at": micros(ts_ms),
        }

    def update(self, table: str, row: dict[str, Any], ts_ms: int) -> dict[str, Any]:
        """A plausible change of a few columns."""
        rng = self.rng
        new = dict(row)
        if table == "contacts":
            choice = rng.randrange(4)
            if choice == 0:
                new["email"] = self.email(row["first_name"], row["last_name"])
            elif choice == 1:
                new["consent_marketing"] = not row["consent_marketing"]
                new["consent_updated_at"] = micros(ts_ms)
            elif choice == 2:
                new["notes"] = self.note(row["first_name"], row["last_name"], "30")
            else:
                new["segment"] = rng.choice(SEGMENTS)
            new["updated_at"] = micros(ts_ms)
        elif table == "accounts":
            new["employees"] = max(1, row["employees"] + rng.randrange(-5, 20))
            new["updated_at"] = micros(ts_ms)
        elif table == "contracts":
            new["status"] = rng.choice(["active", "cancelled", "suspended"])
        elif table == "activities":
            new["subject"] = row["subject"] + " (nachgefasst)"
        elif table == "users":
            new["department"] = rng.choice(list(DEPARTMENTS.values()))
        return new
