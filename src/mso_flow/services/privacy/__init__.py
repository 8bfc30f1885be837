"""Personal data: sealing, the keyring, disclosure and need-to-know, privacy marks, the privacy officer's use
cases (erasure, export, reads, grants)."""
