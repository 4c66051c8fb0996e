"""`make bench` (export): rows/s and peak memory of `rss-ingest export` at 10k and 100k rows.

Fills a scratch SQLite database (and PostgreSQL, if RSS_INGEST_BENCH_POSTGRES_URL is set) with
synthetic articles whose bodies are the real seed article (~5 KB), then times the real command
in a child process and samples its peak RSS (VmHWM) from /proc. Flat memory from 10k to
100k rows is the point: rows are streamed in batches, never all held.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bench.processes import wait_sampling_peak
from storage import migrate
from storage.database import create_engine
from storage.models import ArticleRow, FeedRow

SEED = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "seed"
    / "presstv-iraq-rally.txt"
)
SIZES = (10_000, 100_000)
FORMATS = ("jsonl", "csv", "parquet")


async def fill(url: str, count: int) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    body = SEED.read_text(encoding="utf-8")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(FeedRow), [{"url": "https://bench.example/rss", "created_at": start}]
        )
        for first in range(0, count, 5_000):
            rows = [
                {
                    "feed_id": 1,
                    "url": f"https://bench.example/{n}",
                    "source_url": f"https://bench.example/{n}",
                    "title": f"Article {n}",
                    "published_at": start + timedelta(minutes=n),
                    "fetched_at": start + timedelta(minutes=n),
                    "body": body,
                    "word_count": 800,
                    "content_hash": f"{n:064x}",
                }
                for n in range(first, min(first + 5_000, count))
            ]
            await connection.execute(insert(ArticleRow), rows)
    await engine.dispose()


def run_export(url: str, fmt: str, output: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `rss-ingest export` child process."""
    began = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "export",
            "--format",
            fmt,
            "-o",
            str(output),
            "--database",
            url,
        ],
        stderr=subprocess.DEVNULL,
    )
    peak = wait_sampling_peak(child)
    seconds = time.perf_counter() - began
    if child.returncode != 0:
        raise SystemExit(f"export {fmt} failed")
    return seconds, peak


def main() -> None:
    targets: list[tuple[str, str | None]] = [("sqlite", None)]
    if os.environ.get("RSS_INGEST_BENCH_POSTGRES_URL"):
        targets.append(("postgresql", os.environ["RSS_INGEST_BENCH_POSTGRES_URL"]))
    header = ("database", "rows", "format", "seconds", "rows/s", "peak RSS MB", "file MB")
    print("{:<11}{:>8}  {:<8}{:>8}{:>9}{:>13}{:>9}".format(*header))
    with tempfile.TemporaryDirectory() as scratch:
        for kind, base_url in targets:
            for size in SIZES:
                if kind == "sqlite":
                    url = f"sqlite:///{scratch}/bench-{size}.db"
                else:
                    url = base_url or ""
                    print(f"(PostgreSQL at {url} is emptied and refilled)", file=sys.stderr)
                    asyncio.run(reset_postgres(url))
                asyncio.run(fill(url, size))
                for fmt in FORMATS:
                    output = Path(scratch) / f"out.{fmt}"
                    seconds, peak = run_export(url, fmt, output)
                    print(
                        f"{kind:<11}{size:>8}  {fmt:<8}{seconds:>8.2f}{size / seconds:>9.0f}"
                        f"{peak:>13.0f}{output.stat().st_size / 1e6:>9.1f}"
                    )
                    output.unlink()


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("drop schema public cascade"))
        await connection.execute(text("create schema public"))
    await engine.dispose()


if __name__ == "__main__":
    main()
