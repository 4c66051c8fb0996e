"""Helpers shared by tests: running the real command (to its end, or as a daemon started and
stopped), a free port, an article to store, a query of the store."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from pipeline.dedup import content_hash
from pipeline.records import Article
from storage.store import Store

LEDGER_PAGES = Path(__file__).parent / "fixtures" / "sites" / "dailyledger" / "news"


def distinct_article_page(n: int, base: str) -> str:
    """A different real article for each n < 12 (the Daily Ledger's pages), served under base."""
    page = LEDGER_PAGES / f"{n % 12 + 1}.html"
    return page.read_text(encoding="utf-8").replace("{{BASE}}", base)


def an_article(body: str, url: str = "https://a.example/1", site: str = "a.example") -> Article:
    return Article(
        url=url,
        source_url=url,
        guid=None,
        title="T",
        author=None,
        published_at=None,
        fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
        language="en",
        summary=None,
        body=body,
        word_count=len(body.split()),
        content_hash=content_hash(body),
        raw_body=body,
        site=site,
    )


def fresh_python(code: str, env: dict[str, str] | None = None) -> str:
    """What `code` prints in a new interpreter: none of the modules, threads or settings of
    this test process."""
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert found.returncode == 0, found.stderr
    return found.stdout


def user_env() -> dict[str, str]:
    """The environment for `rss-ingest` run as a user would: none of our RSS_INGEST_ overrides,
    except that the test sites on 127.0.0.1 may be fetched."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSS_INGEST_")}
    env["RSS_INGEST_ALLOW_PRIVATE_ADDRESSES"] = "1"
    return env


async def run_to_end(
    args: Sequence[str], cwd: Path | None = None, seconds: float = 300
) -> subprocess.CompletedProcess[str]:
    """A command run to its end, in a user's environment, while the test's servers go on
    serving (a blocking subprocess.run would stop them)."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=user_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=seconds)
    return subprocess.CompletedProcess(
        list(args), process.returncode or 0, out.decode(), err.decode()
    )


async def rss_ingest(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `rss-ingest` (python -m pipeline) as a user would: exit code, stdout, stderr."""
    done = await run_to_end([sys.executable, "-m", "pipeline", *args], cwd, seconds=120)
    return done.returncode, done.stdout, done.stderr


async def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """The rows of sql; Any, as the database types them."""
    async with store.reading() as session:
        return [tuple(row) for row in await session.execute(text(sql))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_daemon(settings: Path) -> asyncio.subprocess.Process:
    """`rss-ingest run --config settings` as a user starts it, its stderr kept for stop_daemon."""
    env = user_env()
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--config",
        str(settings),
        cwd=settings.parent,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )


async def until(condition: Callable[[], bool], seconds: float = 60) -> None:
    """Wait until condition() holds, while the test's servers go on serving; fail after seconds."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def stop_daemon(
    process: asyncio.subprocess.Process, signum: int = signal.SIGTERM
) -> tuple[int, str]:
    """Signal the daemon and wait for it to exit: its exit code and what it wrote to stderr."""
    process.send_signal(signum)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, err.decode()
