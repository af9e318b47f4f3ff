"""Alembic environment and the schema history (an edge: ``registry`` imports every domain's
tables). ``db.migrate`` finds these scripts by path, without importing them."""
