"""`rss-ingest export` and the analysis views, on a database filled by a real crawl of the
fixture sites, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import sqlite3
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from storage.exports import export_columns
from storage.store import Store
from tests.conftest import CrawlFeeds, Sites, seed_paragraphs
from tests.databases import any_database_url
from tests.helpers import rss_ingest, user_env

database_url = any_database_url
SITES = ("aljazeera", "sciencealert", "thehill", "mirror", "presstv")
COLUMNS = [column.name for column in export_columns()]
ALL_ROWS = """
    select a.*, f.url as feed_url from articles a join feeds f on f.id = a.feed_id
    {where} order by a.id
"""


@pytest.fixture
async def filled(sites: Sites, store: Store, crawl: CrawlFeeds) -> Store:
    feeds = [sites.url(f"{site}/{'rss' if site == 'presstv' else 'feed'}.xml") for site in SITES]
    summary = await crawl(*feeds)
    assert summary.count("new") + summary.count("duplicate") == 10
    return store


async def sql_rows(store: Store, where: str = "", **params: Any) -> list[dict[str, Any]]:
    async with store.reading() as session:
        result = await session.execute(text(ALL_ROWS.format(where=where)), params)
        rows = [dict(row) for row in result.mappings()]
    for row in rows:  # SQLite hands text back for these; compare as the export writes them
        for name in ("published_at", "fetched_at"):
            value = row[name]
            if isinstance(value, str):
                value = datetime.fromisoformat(value).replace(tzinfo=UTC)
            row[name] = value.astimezone(UTC) if value else None
    return rows


def iso(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        for k, v in row.items()
    }


async def test_jsonl_rows_are_the_sql_rows(
    filled: Store, database_url: str, tmp_path: Path
) -> None:
    code, out, err = await rss_ingest(
        "export", "--format", "jsonl", "--database", database_url, cwd=tmp_path
    )
    assert code == 0, err
    exported = [json.loads(line) for line in out.splitlines()]
    expected = [iso(row) for row in await sql_rows(filled)]
    assert len(exported) == len(expected) == 10
    assert exported == expected
    assert list(exported[0]) == COLUMNS
    assert err.strip() == str(expected[-1]["id"])


async def test_parquet_has_types_and_reads_back_in_pyarrow_and_duckdb(
    filled: Store, database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "articles.parquet"
    code, _, err = await rss_ingest(
        "export",
        "--format",
        "parquet",
        "--output",
        str(output),
        "--database",
        database_url,
        cwd=tmp_path,
    )
    assert code == 0, err
    table = pq.read_table(output)
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("duplicate_of").type == pa.int64()
    assert table.schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    expected = await sql_rows(filled)
    assert table.to_pylist() == expected

    with duckdb.connect() as db:
        described = db.execute(f"describe select * from read_parquet('{output}')").fetchall()
        types = {name: kind for name, kind, *_ in described}
        assert types["fetched_at"] == "TIMESTAMP WITH TIME ZONE"
        assert types["word_count"] == "BIGINT"
        db.execute("set timezone = 'UTC'")
        rows = db.execute(
            f"select id, url, word_count from read_parquet('{output}') order by id"
        ).fetchall()
    assert rows == [(r["id"], r["url"], r["word_count"]) for r in expected]


async def test_csv_has_a_header_and_every_row(
    filled: Store, database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "articles.csv"
    code, _, err = await rss_ingest(
        "export", "--format", "csv", "-o", str(output), "--database", database_url, cwd=tmp_path
    )
    assert code == 0, err
    with output.open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    expected = [iso(row) for row in await sql_rows(filled)]
    assert [row["url"] for row in exported] == [row["url"] for row in expected]
    assert [row["body"] for row in exported] == [
        row["body"] for row in expected
    ]  # newlines survive
    assert list(exported[0]) == COLUMNS


async def test_after_id_resumes_where_the_last_pull_ended(
    filled: Store, database_url: str, tmp_path: Path
) -> None:
    args = ["export", "--format", "jsonl", "--database", database_url]
    code, out, err = await rss_ingest(*args, "--after-id", "4", cwd=tmp_path)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == list(range(5, 11))
    last = err.strip()
    code, out, err = await rss_ingest(*args, "--after-id", last, cwd=tmp_path)
    assert (code, out, err.strip()) == (0, "", last)


@pytest.mark.parametrize(
    ("arguments", "where", "params"),
    [
        (
            ["--since", "2019-11-19"],
            "where coalesce(a.published_at, a.fetched_at) >= :t",
            {"t": "2019-11-19"},
        ),
        (
            ["--until", "2019-11-19T12:00:00Z"],
            "where coalesce(a.published_at, a.fetched_at) < :t",
            {"t": "2019-11-19 12:00:00"},
        ),
        (["--originals-only"], "where a.duplicate_of is null", {}),
        (["--feed", "{mirror}"], "where f.url = :feed", {"feed": "{mirror}"}),
    ],
)
async def test_filters_select_what_the_equivalent_sql_selects(
    filled: Store,
    database_url: str,
    tmp_path: Path,
    sites: Sites,
    arguments: list[str],
    where: str,
    params: dict[str, str],
) -> None:
    mirror = sites.url("mirror/feed.xml")
    arguments = [a.format(mirror=mirror) for a in arguments]
    params = {k: v.format(mirror=mirror) for k, v in params.items()}
    if "t" in params:
        params["t"] = datetime.fromisoformat(params["t"]).replace(tzinfo=UTC)  # type: ignore[assignment]
        if "sqlite" in database_url:
            params["t"] = params["t"].strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]
    code, out, err = await rss_ingest(
        "export", "--format", "jsonl", "--database", database_url, *arguments, cwd=tmp_path
    )
    assert code == 0, err
    exported = [json.loads(line)["id"] for line in out.splitlines()]
    expected = [row["id"] for row in await sql_rows(filled, where, **params)]
    assert exported == expected
    assert 0 < len(expected) < 10


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "xml"], "unknown format 'xml'"),
        (["--format", "jsonl", "--since", "last tuesday"], "--since: not an ISO 8601 date"),
        (
            ["--format", "jsonl", "--since", "2024-02-01", "--until", "2024-01-01"],
            "--until must be later",
        ),
        (
            ["--format", "csv", "-o", "/proc/no/such/dir/out.csv"],
            "cannot write /proc/no/such/dir/out.csv",
        ),
        (["--format", "jsonl", "--feed", "https://unknown.example/rss"], "no feed with URL"),
        (["--format", "jsonl", "--after-id", "many"], "invalid int value"),
        (["--format", "parquet"], "parquet cannot be streamed to standard output"),
    ],
)
async def test_bad_input_exits_with_one_line_and_no_file(
    filled: Store, database_url: str, tmp_path: Path, arguments: list[str], message: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    to_file = "-o" not in arguments and "parquet" not in arguments
    output = ["-o", str(folder / "out.file")] if to_file else []
    code, _, err = await rss_ingest(
        "export", *arguments, *output, "--database", database_url, cwd=tmp_path
    )
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(folder.iterdir()) == []


async def test_a_database_without_articles_table(database_url: str, tmp_path: Path) -> None:
    if "sqlite" in database_url:  # an empty file: a database, but never migrated
        sqlite3.connect(database_url.removeprefix("sqlite:///")).close()
    code, _, err = await rss_ingest(
        "export", "--format", "jsonl", "--database", database_url, cwd=tmp_path
    )
    assert code == 2
    assert "has no articles table yet" in err and len(err.strip().splitlines()) == 1


async def test_views_for_analysts(filled: Store) -> None:
    async with filled.reading() as session:
        originals = (await session.execute(text("select count(*) from originals"))).scalar()
        expected = (
            await session.execute(text("select count(*) from articles where duplicate_of is null"))
        ).scalar()
        status = (
            await session.execute(
                text(
                    "select url, active, articles_last_7_days, next_poll_at"
                    " from feed_status order by url"
                )
            )
        ).all()
        per_feed: dict[str, int] = dict(
            (
                await session.execute(
                    text(
                        "select f.url, count(*) from articles a"
                        " join feeds f on f.id = a.feed_id group by f.url"
                    )
                )
            ).all()
        )
        daily = (
            await session.execute(
                text("select sum(articles), sum(originals), count(distinct day) from daily_counts")
            )
        ).one()
    assert originals == expected == 7
    assert [(url, n) for url, _, n, _ in status] == sorted(per_feed.items())
    assert all(next_poll is not None for *_, next_poll in status)
    assert tuple(daily) == (10, 7, 4)


async def test_a_long_read_does_not_block_a_crawl(
    sites: Sites, store: Store, crawl: CrawlFeeds, database_url: str
) -> None:
    """An analyst's open read transaction (WAL on SQLite, MVCC on PostgreSQL) during a crawl."""
    await crawl(sites.url("presstv/rss.xml"))
    async with AsyncExitStack() as stack:
        if "sqlite" in database_url:  # as the sqlite3 shell or pandas would read it
            analyst = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
            stack.callback(analyst.close)
            analyst.execute("begin")

            async def count() -> int:
                return int(analyst.execute("select count(*) from articles").fetchone()[0])
        else:
            reader = await stack.enter_async_context(store.engine.connect())
            await reader.execute(text("set transaction isolation level repeatable read"))

            async def count() -> int:
                return int(
                    (await reader.execute(text("select count(*) from articles"))).scalar_one()
                )

        assert await count() == 1
        summary = await asyncio.wait_for(
            crawl(*(sites.url(f"{site}/feed.xml") for site in ("aljazeera", "thehill", "mirror"))),
            timeout=60,
        )
        assert summary.failed_feeds == []
        assert summary.count("new") + summary.count("duplicate") == 7
        assert await count() == 1  # the reader still sees its snapshot
    async with store.reading() as session:
        assert (await session.execute(text("select count(*) from articles"))).scalar() == 8


async def test_datasette_shows_the_tables_and_views(filled: Store, database_url: str) -> None:
    if "sqlite" not in database_url:
        pytest.skip("Datasette reads SQLite files")
    from datasette.app import Datasette

    path = Path(database_url.removeprefix("sqlite:///"))
    metadata = json.loads((Path(__file__).parent.parent / "config" / "datasette.json").read_text())
    datasette = Datasette([str(path)], metadata=metadata)
    response = await datasette.client.get(f"/{path.stem}.json")
    assert response.status_code == 200
    listing = response.json()
    tables = {table["name"] for table in listing["tables"]}
    views = {view["name"] for view in listing["views"]}
    assert {"feeds", "articles", "article_failures"} <= tables
    assert {"originals", "feed_status", "daily_counts"} <= views
    rows = (await datasette.client.get(f"/{path.stem}/feed_status.json?_shape=array")).json()
    assert len(rows) == 5
    # Datasette finds the FTS5 index by itself: the articles table gets a search box
    found = await datasette.client.get(f"/{path.stem}/articles.json?_search=Baghdad&_shape=array")
    everything = await datasette.client.get(f"/{path.stem}/articles.json?_shape=array")
    assert 0 < len(found.json()) <= len(everything.json())
    nothing = await datasette.client.get(f"/{path.stem}/articles.json?_search=zyzzyva&_shape=array")
    assert nothing.json() == []


async def fill_synthetic(store: Store, count: int) -> None:
    """Many plausible rows, quickly: one feed, bodies of real text."""
    from sqlalchemy import insert

    from storage.models import ArticleRow, FeedRow

    body = "\n\n".join(seed_paragraphs())
    now = datetime(2024, 1, 1, tzinfo=UTC)
    async with store.writing() as session:
        await session.execute(
            insert(FeedRow), [{"url": "https://big.example/rss", "created_at": now}]
        )
        rows = [
            {
                "feed_id": 1,
                "url": f"https://big.example/{n}",
                "source_url": f"https://big.example/{n}",
                "fetched_at": now,
                "body": body,
                "word_count": 800,
                "content_hash": str(n),
            }
            for n in range(count)
        ]
        for start in range(0, count, 5_000):
            await session.execute(insert(ArticleRow), rows[start : start + 5_000])


def interruptible() -> None:
    """Ctrl-C as at a terminal. Tests started in the background by a script (`make test &`)
    inherit an ignored SIGINT from the shell, which would pass it on to the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_an_interrupted_export_leaves_no_file(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    await fill_synthetic(store, 40_000)
    folder = tmp_path / "out"
    folder.mkdir()
    env = user_env()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipeline",
        "export",
        "--format",
        "csv",
        "-o",
        str(folder / "all.csv"),
        "--database",
        database_url,
        env=env,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=interruptible,
    )
    deadline = asyncio.get_running_loop().time() + 30
    while not any(p.stat().st_size > 100_000 for p in folder.iterdir()):
        assert asyncio.get_running_loop().time() < deadline and process.returncode is None
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 130, err
    assert err.decode().strip() == "rss-ingest: interrupted"
    assert list(folder.iterdir()) == []
