"""Operations: what the operators of the service read and act on (the Cockpit)."""
