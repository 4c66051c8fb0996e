"""Shared fixtures: the fixture-site HTTP server, a migrated SQLite store, a process pool."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.fixture_server import REQUESTS, build_app
from pipeline.crawl import Crawler, utc_now
from pipeline.pool import ExtractionPool
from pipeline.reports import CrawlSummary
from pipeline.rules import RuleSet, load_rules
from pipeline.settings import Settings
from storage import migrate, queries
from storage.database import create_engine
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"
SEED = FIXTURES / "seed" / "presstv-iraq-rally.txt"
CORPUS = SHARED / "corpus"
SEED_PAGE = FIXTURES / "sites" / "presstv" / "Detail" / "2022" / "01" / "01" / "674433.html"


class Sites:
    """The fixture sites on a real aiohttp server at 127.0.0.1; tests may add routes."""

    def __init__(self, server: TestServer) -> None:
        self.server = server

    def url(self, path: str) -> str:
        return str(self.server.make_url("/" + path.lstrip("/")))

    @property
    def requests(self) -> list[str]:
        return self.server.app[REQUESTS]


@pytest.fixture
def app() -> web.Application:
    """The fixture-site app, before it starts: add routes for odd behaviour here."""
    return build_app()


@pytest.fixture
async def sites(app: web.Application) -> AsyncIterator[Sites]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield Sites(server)
    await server.close()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        total_timeout=5.0,
        connect_timeout=2.0,
        feed_concurrency=4,
        per_host_delay=0.0,
        allow_private_addresses=True,  # the test sites are on 127.0.0.1
    )


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules(ROOT / "config" / "rules.toml")


@pytest.fixture(scope="session")
def pool() -> Iterator[Executor]:
    with ExtractionPool(2) as executor:
        yield executor


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    yield Store(engine)
    await engine.dispose()


CrawlFeeds = Callable[..., Awaitable[CrawlSummary]]


@pytest.fixture
def crawl(store: Store, settings: Settings, rules: RuleSet, pool: Executor) -> CrawlFeeds:
    """Crawl the given feed URLs once, as `rss-ingest crawl --feed ...` does."""

    async def run(*urls: str, **overrides: Any) -> CrawlSummary:
        async with store.writing() as session:
            await queries.insert_new_feeds(session, [(url, None) for url in urls], utc_now())
        async with store.reading() as session:
            feeds = await queries.feeds_by_url(session, list(urls))
        crawl_settings = dataclasses.replace(settings, **overrides)
        async with Crawler(crawl_settings, rules, store, pool) as crawler:
            return await crawler.crawl(feeds)

    return run


def seed_paragraphs() -> list[str]:
    """The real paragraphs of the seed article, whitespace collapsed as bodies store them."""
    paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return [" ".join(p.split()) for p in paragraphs[3:-2]]


def seed_parts() -> dict[str, str]:
    paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return {
        "breadcrumb": paragraphs[0],
        "title": paragraphs[1],
        "caption": paragraphs[2],
        "footer": paragraphs[-2],
        "links": paragraphs[-1],
    }


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Under `pytest -m fault` (make faults): the table of faults, outcomes and rows lost."""
    if terminalreporter.config.getoption("markexpr") != "fault":
        return
    rows = []
    for result in ("passed", "failed"):
        for report in terminalreporter.stats.get(result, []):
            properties = dict(report.user_properties)
            if report.when == "call" and "fault" in properties:
                lost = properties.get("rows_lost", "?")
                rows.append((str(properties["fault"]), str(properties["outcome"]), lost, result))
    widths = [
        max([len(header)] + [len(str(row[i])) for row in rows])
        for i, header in enumerate(("fault", "outcome", "rows lost", "test"))
    ]
    write = terminalreporter.write_line
    write("")
    for row in [("fault", "outcome", "rows lost", "test"), tuple("-" * w for w in widths), *rows]:
        write(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
