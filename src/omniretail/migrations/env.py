from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from omniretail.migrations.registry import Base
from omniretail.settings import Settings


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    from omniretail.db.engine import make_engine

    settings = Settings()
    return make_engine(settings.resolved_database_url(), schema=settings.database_schema)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
