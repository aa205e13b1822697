"""Access control on the broker: the ACLs that the rules imply (grants.py), applied and
checked with the Admin API (broker.py)."""
