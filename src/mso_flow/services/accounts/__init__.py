"""People: users and tokens, logins and browser sessions, the known roles, the directory of who holds which role."""
