"""Engines: SQLite files opened by several connections at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine

ROUNDS = 40
ENGINES = 3


async def _open_and_write(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        await connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS opened (n INTEGER)")
        await connection.exec_driver_sql("INSERT INTO opened VALUES (1)")
        await connection.commit()
        return str(mode)


async def test_connections_opening_a_new_file_together_all_get_wal(tmp_path: Path) -> None:
    # Daemons started together on a new file all switch it to WAL; without a retry, SQLite
    # refused one of them at once with "database is locked" within 40 rounds, 3 runs of 3.
    for round_number in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'new-{round_number}.db'}"
        engines = [create_engine(url) for _ in range(ENGINES)]
        try:
            modes = await asyncio.gather(*(_open_and_write(engine) for engine in engines))
        finally:
            for engine in engines:
                await engine.dispose()
        assert modes == ["wal"] * ENGINES
