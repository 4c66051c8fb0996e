"""Schema migrations with Alembic, run on the project's own async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_311_042_019  # any constant: the PostgreSQL advisory lock of migrations


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def _migrate(engine: AsyncEngine, run: Callable[[Connection], None]) -> None:
    """Run migrations in one transaction.

    On SQLite, with foreign keys off meanwhile and checked before the commit: a migration that
    rebuilds a table (ALTER TABLE cannot drop a constraint) drops the old one while rows still
    point at it, which is SQLite's documented procedure for schema changes.
    """
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside a transaction, or SQLite ignores it
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
            # Take the write lock first: the version is read, and the schema changed, under it.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            # Daemons started together on one database migrate one after the other; the later
            # ones then find it at head and do nothing. Held until this transaction ends.
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        try:
            await connection.run_sync(run)
            if sqlite:
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
            await connection.commit()
        finally:
            if sqlite:
                await connection.rollback()
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, lambda connection: command.upgrade(alembic_config(connection), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _migrate(
        engine, lambda connection: command.downgrade(alembic_config(connection), revision)
    )
