"""Use cases of MSO Flow, one transaction each; authorization decisions live here."""
