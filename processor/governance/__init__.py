"""GDPR evidence generated from the rules and the running processor: audit trail, report."""
