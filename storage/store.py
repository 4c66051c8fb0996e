"""Sessions for the pipeline: concurrent reads, one writer at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


class DatabaseUnavailable(SQLAlchemyError):
    """The database server could not be reached: refused, reset, timed out, starting up.

    The driver raises these as its own or as OS errors, not as SQLAlchemy's; made one of
    SQLAlchemy's here, so that every `except SQLAlchemyError` treats them as database failures.
    """


def database_reason(error: BaseException) -> str:
    """What the driver said, without SQLAlchemy's statement and parameters around it."""
    return str(getattr(error, "orig", None) or error)


def _unreachable(error: Exception) -> bool:
    return isinstance(error, OSError) or type(error).__module__.startswith("asyncpg")


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except SQLAlchemyError:
        raise
    except Exception as error:
        if _unreachable(error):
            raise DatabaseUnavailable(f"cannot reach the database: {error}") from error
        raise


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer anyway; and dedup decisions must see each other's results.
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with _translated(), self._sessions() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with _translated(), self._write_lock, self._sessions.begin() as session:
            yield session
