"""Data-subject rights in the stream: per-subject data keys (encrypt, reveal, crypto-shredding)
and look-ups of what the views hold about one subject (Art. 15)."""
