"""Engines: which database, with which driver, set up how (SQLite in WAL mode)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """The database cannot be used: bad URL, unreachable, or not migrated."""


def database_url(raw: str) -> URL:
    """Accept the URLs people write (sqlite:///x.db, postgresql://...) and pick the async driver."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseError(f"not a database URL: {raw!r}") from None
    driver = ASYNC_DRIVERS.get(url.drivername)
    if driver is not None:
        url = url.set(drivername=driver)
    if url.drivername not in ASYNC_DRIVERS.values():
        raise DatabaseError(
            f"unsupported database {url.drivername!r}: use sqlite:///FILE or postgresql://..."
        )
    return url


def redacted(url: URL | str) -> str:
    """A URL safe to print: the password is replaced by ***."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout: wait for another writer, do not fail. WAL: readers never block the writer.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MB of page cache (the default is 2 MB): the dedup indexes are probed at random.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Turn the file to WAL, retrying while connections opened with this one turn it too.

    On a file not yet in WAL (a new one), the switch needs an exclusive lock. When several
    connections try at once, SQLite answers "database is locked" at once to all but one rather
    than wait out busy_timeout: waiting could deadlock. So the retry is ours.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            busy = getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() + pause > deadline:
                raise
        # The hook runs in SQLAlchemy's greenlet on the event loop: sleep without blocking it.
        await_only(asyncio.sleep(pause))
        pause = min(pause * 2, 0.1)


def create_engine(raw_url: str) -> AsyncEngine:
    url = database_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
