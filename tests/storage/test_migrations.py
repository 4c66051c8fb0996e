from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from storage import migrate
from storage.database import create_engine
from storage.models import Base

FEEDS = {
    "id",
    "url",
    "title",
    "site_url",
    "etag",
    "last_modified",
    "last_polled_at",
    "last_status",
    "error_count",
    "last_error",
}
ARTICLES = {
    "id",
    "feed_id",
    "url",
    "guid",
    "title",
    "author",
    "published_at",
    "fetched_at",
    "language",
    "summary",
    "body",
    "word_count",
    "content_hash",
    "duplicate_of",
}


async def test_empty_database_migrates_to_the_documented_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()

        def columns(connection: Connection) -> dict[str, set[str]]:
            inspector = inspect(connection)
            return {
                t: {c["name"] for c in inspector.get_columns(t)}
                for t in inspector.get_table_names()
            }

        async with engine.connect() as connection:
            tables = await connection.run_sync(columns)
        assert tables["feeds"] >= FEEDS
        assert tables["articles"] >= ARTICLES
        assert "article_failures" in tables
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_and_downgrade_cleanly(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)

        def differences(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection)
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(names) <= {"alembic_version"}
        await migrate.upgrade(engine)  # and up again
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_harmless(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
