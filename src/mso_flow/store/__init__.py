"""Persistence: SQLAlchemy models, the database and session factory, and queries. Knows nothing of HTTP or BPMN."""
