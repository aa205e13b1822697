"""Detectors of personal data in free text (e-mail, phone, IBAN, card number, German tax id)."""
