import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from storage import migrate
from storage.database import create_engine
from storage.models import Base, in_models

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
            context = MigrationContext.configure(connection, opts={"include_object": in_models})
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


async def test_revision_0005_keeps_stored_articles_and_fills_their_url_keys(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine, "0004")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "insert into feeds (id, url, created_at) "
                    "values (1, 'https://site.example/rss', '2024-01-01 00:00:00+00')"
                )
            )
            for article_id, url, original in (
                (1, "https://www.site.example/news/a/", None),
                (2, "https://site.example/news/a/amp", 1),
            ):
                await connection.execute(
                    text(
                        "insert into articles (id, feed_id, url, source_url, fetched_at, body, "
                        "word_count, duplicate_of, duplicate_kind) values (:id, 1, :url, :url, "
                        "'2024-01-01 00:00:00+00', 'Body.', 1, :original, :kind)"
                    ),
                    {
                        "id": article_id,
                        "url": url,
                        "original": original,
                        "kind": original and "url",
                    },
                )
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "select id, url_key, source_url_key, duplicate_of from articles order by id"
                    )
                )
            ).all()
            originals = (await connection.execute(text("select id from originals"))).all()
        assert [tuple(row) for row in rows] == [
            (1, "site.example/news/a", "site.example/news/a", None),
            (2, "site.example/news/a", "site.example/news/a", 1),
        ]
        assert [tuple(row) for row in originals] == [(1,)]
    finally:
        await engine.dispose()


async def test_daemons_started_together_migrate_one_after_the_other(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
        for engine in engines:
            assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        for engine in engines:
            await engine.dispose()
