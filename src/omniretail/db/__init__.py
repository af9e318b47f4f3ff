"""Persistence infrastructure: engine, declarative base, unit of work, outbox, migrations."""
