"""Identity: ACS users, their access tokens, revocation."""
