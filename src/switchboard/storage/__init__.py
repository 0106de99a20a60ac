"""Durable state: one async SQLAlchemy Core engine (SQLite or PostgreSQL) and migrations."""

from switchboard.storage.database import Database

__all__ = ["Database"]
