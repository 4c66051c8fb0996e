"""Small SQL helpers shared by the storage modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from storage.models import Base

T = TypeVar("T")
IN_CHUNK = 500


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_for(session: AsyncSession, model: type[Base]) -> Any:
    """An INSERT that supports ON CONFLICT for the session's dialect.

    A Core insert of the model's table: with a list of rows it runs as one cached executemany,
    where an ORM insert would go through the ORM's per-row bulk machinery.
    """
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(model.__table__)
    return statement
