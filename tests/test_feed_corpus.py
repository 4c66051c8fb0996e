"""feedparser's own test feeds, well-formed and broken, through the whole pipeline."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.parse import NotAFeed, parse_feed
from pipeline.urls import canonical_url, host_of
from tests.conftest import CORPUS, ROOT
from tests.corpus_crawl import headers_of

FEEDS = CORPUS / "feedparser-tests"


def _can_make_network_namespaces() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not FEEDS.exists(), reason="../shared/corpus/feedparser-tests is absent")
@pytest.mark.skipif(
    not _can_make_network_namespaces(),
    reason="needs `unshare -n` and `ip` (root): the feeds link to hosts that must not be called",
)
@pytest.mark.fault
def test_every_feedparser_test_feed_goes_through_the_crawl(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    crawl = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.corpus_crawl", str(FEEDS), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr, crawl.stderr[-3000:]
    served = len(list(FEEDS.rglob("*.xml")))
    with sqlite3.connect(tmp_path / "corpus.db") as db:
        (feeds,) = db.execute("select count(*) from feeds").fetchone()
        reasons = dict(db.execute("select url, last_error from feeds where last_error is not null"))
        failures = dict(db.execute("select url, reason from article_failures"))
    record_property("fault", f"feedparser's {served} test feeds, broken ones included")
    record_property(
        "outcome",
        f"{len(reasons)} rejected with a reason, {len(failures)} links recorded, no crash",
    )
    record_property("rows_lost", served - feeds)
    assert feeds == served
    # Every feed was polled to the end: a reason for the ones we cannot use, never a crash.
    assert not [r for r in reasons.values() if r.startswith("internal error")], reasons
    assert all(
        r.startswith(("not a feed", "not an RSS or Atom feed", "empty")) for r in reasons.values()
    ), reasons
    assert len(reasons) < served / 4
    # Every entry's link to another host was followed (unreachable here) and recorded with why.
    assert external_links() <= set(failures)
    assert all(failures.values())


def external_links() -> set[str]:
    """The links to other hosts that the entries of all the corpus feeds hold."""
    links = set()
    for path in FEEDS.rglob("*.xml"):
        body = path.read_bytes()
        content_type = headers_of(body).get("Content-Type", "application/xml").split(";")[0]
        try:
            parsed = parse_feed(body, f"http://127.0.0.1/{path.name}", content_type.lower())
        except NotAFeed:
            continue
        links |= {canonical_url(e.link) for e in parsed.entries if host_of(e.link) != "127.0.0.1"}
    assert len(links) > 10
    return links
