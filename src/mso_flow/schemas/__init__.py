"""Pydantic models of the HTTP API's requests and responses (the v1 contract)."""
