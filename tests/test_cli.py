"""The rss-ingest command as users run it: a real subprocess, real servers, real files."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from storage import migrate
from tests.conftest import ROOT, Sites
from tests.helpers import rss_ingest

SUMMARY = re.compile(
    r"^feeds: (\d+) polled, (\d+) failed, (\d+) unchanged \| articles: (\d+) new, (\d+) duplicate, "
    r"(\d+) failed, (\d+) already stored \| [\d.]+ s$",
    re.MULTILINE,
)


def write_config(folder: Path, feeds: list[str], **settings: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feeds.toml").write_text("".join(f'[[feeds]]\nurl = "{url}"\n\n' for url in feeds))
    (folder / "rules.toml").write_text((ROOT / "config" / "rules.toml").read_text())
    lines = [f'{key} = "{value}"' for key, value in settings.items()]
    (folder / "settings.toml").write_text(
        "\n".join(lines) + "\nextract_workers = 1\nper_host_delay = 0.0\n"
    )
    return folder / "settings.toml"


async def test_crawl_from_config_twice(sites: Sites, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        [sites.url("presstv/rss.xml"), sites.url("mirror/feed.xml")],
        database_url=f"sqlite:///{tmp_path / 'data' / 'news.db'}",
    )
    code, out, err = await rss_ingest("crawl", "--config", str(config), cwd=tmp_path)
    assert code == 0, err
    first = SUMMARY.search(out)
    assert first is not None, out
    assert first.group(1, 2) == ("2", "0")
    assert re.search(r"event loop lag over \d+ samples: median [\d.]+ ms", err), err
    assert int(first.group(4)) + int(first.group(5)) == 4

    code, out, err = await rss_ingest("crawl", "--config", str(config), cwd=tmp_path)
    assert code == 0, err
    second = SUMMARY.search(out)
    assert second is not None and second.group(3, 4, 5) == ("2", "0", "0")

    with sqlite3.connect(tmp_path / "data" / "news.db") as db:
        assert db.execute("select count(*) from articles").fetchone() == (4,)
        assert db.execute("pragma journal_mode").fetchone() == ("wal",)


async def test_crawl_reports_failed_feeds_and_still_exits_0(sites: Sites, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'x.db'}"
    code, out, err = await rss_ingest(
        "crawl",
        "--database",
        database,
        "--feed",
        sites.url("presstv/rss.xml"),
        "--feed",
        sites.url("missing/feed.xml"),
        cwd=tmp_path,
    )
    assert code == 0
    assert f"failed: {sites.url('missing/feed.xml')}: HTTP 404 Not Found" in err
    assert "no config/rules.toml: only trafilatura cleans the bodies" in err
    summary = SUMMARY.search(out)
    assert summary is not None and summary.group(1, 2, 4) == ("1", "1", "1")


async def test_a_feed_dropped_from_the_feeds_file_stops_being_polled(
    sites: Sites, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'x.db'}"
    both = [sites.url("presstv/rss.xml"), sites.url("thehill/feed.xml")]
    config = write_config(tmp_path / "c", both, database_url=database)
    assert (await rss_ingest("crawl", "--config", str(config), cwd=tmp_path))[0] == 0
    config = write_config(tmp_path / "c", both[:1], database_url=database)
    code, out, _ = await rss_ingest("crawl", "--config", str(config), cwd=tmp_path)
    summary = SUMMARY.search(out)
    assert code == 0 and summary is not None and summary.group(1) == "1"
    code, out, _ = await rss_ingest("feeds", "list", "--database", database, cwd=tmp_path)
    assert "inactive (no longer listed in the feeds file)" in out


@pytest.mark.parametrize(
    ("settings_text", "message"),
    [
        ("concurrency = 'many'\n", "concurrency must be int"),
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        (
            f"feeds_file = 'nope.toml'\nrules_file = '{ROOT / 'config' / 'rules.toml'}'\n",
            "feeds file",
        ),
        ("rules_file = 'nope.toml'\n", "rules file"),
    ],
)
async def test_bad_config_exits_2_with_one_clear_line(
    tmp_path: Path, settings_text: str, message: str
) -> None:
    (tmp_path / "settings.toml").write_text(settings_text)
    code, _, err = await rss_ingest(
        "crawl", "--config", str(tmp_path / "settings.toml"), cwd=tmp_path
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


async def test_unreachable_database_exits_2_without_leaking_the_password(tmp_path: Path) -> None:
    code, _, err = await rss_ingest(
        "db", "upgrade", "--database", "postgresql://reader:s3cret@127.0.0.1:9/news", cwd=tmp_path
    )
    assert code == 2
    assert "cannot use database postgresql://reader:***@127.0.0.1:9/news: " in err
    assert "s3cret" not in err and "Traceback" not in err


async def test_feed_management_and_opml_round_trip(tmp_path: Path) -> None:
    db = ["--database", f"sqlite:///{tmp_path / 'feeds.db'}"]
    assert (
        await rss_ingest(
            "feeds", "add", "https://a.example/rss", "--title", "A & B", *db, cwd=tmp_path
        )
    )[0] == 0
    assert (await rss_ingest("feeds", "add", "https://b.example/atom", *db, cwd=tmp_path))[0] == 0
    code, _, err = await rss_ingest("feeds", "add", "not a url", *db, cwd=tmp_path)
    assert code == 2 and "is not an http(s) URL" in err

    code, out, _ = await rss_ingest(
        "feeds", "export-opml", "--output", "subs.opml", *db, cwd=tmp_path
    )
    assert code == 0
    other = ["--database", f"sqlite:///{tmp_path / 'other.db'}"]
    code, out, _ = await rss_ingest("feeds", "import-opml", "subs.opml", *other, cwd=tmp_path)
    assert (code, out.strip()) == (0, "imported 2 new feeds from subs.opml (0 already known)")
    code, out, _ = await rss_ingest("feeds", "list", *other, cwd=tmp_path)
    assert [line.split("\t")[:2] for line in out.splitlines()] == [
        ["https://a.example/rss", "A & B"],
        ["https://b.example/atom", "-"],
    ]

    code, out, _ = await rss_ingest(
        "feeds", "remove", "https://a.example/rss", *other, cwd=tmp_path
    )
    assert code == 0 and "its stored articles are kept" in out
    code, _, err = await rss_ingest(
        "feeds", "remove", "https://a.example/rss", *other, cwd=tmp_path
    )
    assert code == 2 and "is not an active feed" in err
    code, out, _ = await rss_ingest("feeds", "list", "--active", *other, cwd=tmp_path)
    assert [line.split("\t")[0] for line in out.splitlines()] == ["https://b.example/atom"]
    code, out, _ = await rss_ingest("feeds", "list", *other, cwd=tmp_path)
    assert [line.split("\t")[2] for line in out.splitlines()] == [
        "inactive (removed by user)",
        "active",
    ]


async def test_db_upgrade_creates_the_default_database(tmp_path: Path) -> None:
    code, out, err = await rss_ingest("db", "upgrade", cwd=tmp_path)
    assert code == 0, err
    assert f"data/rss-ingest.db is at revision {migrate.head_revision()}" in out
    assert (tmp_path / "data" / "rss-ingest.db").exists()
