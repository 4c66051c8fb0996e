"""Alembic environment: migrations run on a connection handed over by storage.migrate."""

from __future__ import annotations

from alembic import context

from storage.models import Base, in_models

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `rss-ingest db upgrade` (storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=in_models,
)
with context.begin_transaction():
    context.run_migrations()
