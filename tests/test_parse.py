import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from pipeline.parse import NotAFeed, html_to_text, markup_to_text, parse_feed
from tests.conftest import CORPUS, FIXTURES

FEEDS = FIXTURES / "feeds"


def test_atom_entries_with_relative_links_author_and_dates() -> None:
    body = (FEEDS / "atom-relative-links.xml").read_bytes()
    parsed = parse_feed(body, "https://news.example.org/world/atom.xml", "application/atom+xml")
    assert parsed.title == "Example World News"
    assert parsed.site_url == "https://news.example.org/"
    assert parsed.language == "en-GB"
    assert parsed.warning is None
    # the entry with no link and the mailto one carry no article to fetch
    (entry,) = parsed.entries
    assert entry.link == "https://news.example.org/world/2024/03/05/ceasefire-talks"
    assert entry.guid == "tag:news.example.org,2024:ceasefire-talks"
    assert entry.author == "Jane Doe"
    assert entry.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert entry.summary == "Negotiators returned to the table."


def test_fixture_site_feed_with_tracking_link() -> None:
    body = (
        (FIXTURES / "sites" / "presstv" / "rss.xml")
        .read_bytes()
        .replace(b"{{BASE}}", b"http://h/p")
    )
    (entry,) = parse_feed(body, "http://h/p/rss.xml").entries
    assert entry.link == "http://h/p/Detail/2022/01/01/674433.html?utm_source=rss&utm_medium=feed"
    assert entry.guid == "674433"
    assert entry.published_at == datetime(2022, 1, 1, 13, 35, tzinfo=UTC)


def test_malformed_feed_that_still_has_entries_is_used_with_a_warning() -> None:
    body = (FEEDS / "illformed-rss-corrupted-ampersands.xml").read_bytes()
    parsed = parse_feed(body, "http://link/feed")
    assert parsed.warning is not None and parsed.warning.startswith("malformed feed")
    assert [e.link for e in parsed.entries] == ["http://link/get?a=1&b=2"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/rss+xml", "empty response"),
        (b"   \n", "text/xml", "empty response"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            "text/html",
            "got an HTML page",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "not an RSS or Atom feed"),
        (b"this is not xml at all {", "text/plain", "not an RSS or Atom feed"),
    ],
)
def test_documents_that_are_not_feeds_are_rejected_with_a_reason(
    body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(NotAFeed, match=message):
        parse_feed(body, "http://example.com/feed", content_type)


def test_html_to_text() -> None:
    assert html_to_text("<p>a <b>b</b></p><p>c</p>") == "a b c"
    assert html_to_text("") is None
    assert html_to_text("plain &amp; simple") == "plain & simple"
    assert html_to_text(" plain\n\ttext ") == "plain text"


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="<&")))
def test_text_without_tags_or_entities_skips_the_html_parser_with_the_same_result(
    text: str,
) -> None:
    assert html_to_text(text) == (markup_to_text(text) if text.strip() else None)


def _feedparser_corpus() -> list[Path]:
    folder = CORPUS / "feedparser-tests"
    return sorted(p for p in folder.rglob("*.xml")) if folder.exists() else []


@pytest.mark.skipif(not _feedparser_corpus(), reason="../shared/corpus/feedparser-tests is absent")
def test_every_feedparser_test_feed_parses_or_is_rejected_cleanly() -> None:
    """feedparser's own well-formed and broken feeds: entries, or NotAFeed; nothing else."""
    outcomes = {"entries": 0, "no entries": 0, "rejected": 0}
    for path in _feedparser_corpus():
        try:
            parsed = parse_feed(path.read_bytes(), "http://example.com/feed.xml")
        except NotAFeed:
            outcomes["rejected"] += 1
            continue
        outcomes["entries" if parsed.entries else "no entries"] += 1
        for entry in parsed.entries:
            assert entry.link.startswith(("http://", "https://")), path
    assert sum(outcomes.values()) == len(_feedparser_corpus())
    assert outcomes["entries"] >= 50  # most of feedparser's test feeds test fields, not links


def test_titles_and_names_are_stored_as_plain_text() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel>
    <title>Site &lt;b&gt;news&lt;/b&gt;</title>
    <item>
      <title>A &lt;script&gt;alert(1)&lt;/script&gt;&lt;i&gt;story&lt;/i&gt; &amp;amp; more</title>
      <link>http://news.example/1</link><author>&lt;a href="javascript:x"&gt;Jo&lt;/a&gt;</author>
      <description>&lt;p&gt;Hi&lt;img src=x onerror=alert(1)&gt; there&lt;/p&gt;</description>
    </item>
    <item><title>Why 3 &lt; 5 matters, and AT&amp;T too</title><link>http://news.example/2</link>
    </item></channel></rss>"""
    parsed = parse_feed(feed, "http://news.example/feed", "application/rss+xml")
    first, second = parsed.entries
    assert parsed.title == "Site news"
    assert (first.title, first.author, first.summary) == ("A story & more", "Jo", "Hi there")
    assert second.title == "Why 3 < 5 matters, and AT&T too"


def billion_laughs() -> bytes:
    """Ten levels of entities, each ten of the one below: 10^10 'a's if expanded."""
    entities = b'<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY %c "%s">' % (98 + level, b"&%c;" % (97 + level) * 10) for level in range(9)
    )
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [' + entities + b"]>"
        b'<rss version="2.0"><channel><title>&j;</title>'
        b"<item><title>Story</title><link>http://news.example/1</link></item></channel></rss>"
    )


def test_entity_expansion_is_not_followed() -> None:
    parsed = parse_feed(billion_laughs(), "http://news.example/feed", "application/rss+xml")
    assert len(parsed.title or "") < 100
    assert [entry.title for entry in parsed.entries] == ["Story"]


async def test_external_entities_and_dtds_are_never_fetched(tmp_path: Path) -> None:
    asked: list[str] = []

    async def record(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(text='<!ENTITY leak "SECRET">')

    app = web.Application()
    app.router.add_get("/{path:.*}", record)
    server = TestServer(app, host="127.0.0.2")
    await server.start_server()
    try:
        local = tmp_path / "secret.txt"
        local.write_text("SECRET")
        feed = (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server.make_url("/evil.dtd")}" ['
            f'<!ENTITY remote SYSTEM "{server.make_url("/entity")}">'
            f'<!ENTITY local SYSTEM "file://{local}">]>'
            '<rss version="2.0"><channel><title>T &remote; &local; &leak;</title>'
            "<item><title>Story &local;</title><link>http://news.example/1</link></item>"
            "</channel></rss>"
        ).encode()
        parsed = await asyncio.to_thread(
            parse_feed, feed, "http://news.example/feed", "application/rss+xml"
        )
    finally:
        await server.close()
    assert asked == []
    assert "SECRET" not in (parsed.title or "")
    assert all("SECRET" not in (entry.title or "") for entry in parsed.entries)


@pytest.mark.parametrize("reference", [b"&#x110000;", b"&#2000000;", b"&#xD800;", b"&#xFFFFFFFF;"])
def test_character_references_outside_unicode_do_not_lose_the_feed(reference: bytes) -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>A '
        + reference
        + b" b</title><link>http://127.0.0.1/a</link></item></channel></rss>"
    )
    (entry,) = parse_feed(body, "http://127.0.0.1/feed").entries
    assert entry.title == "A \ufffd b"


def test_a_document_feedparser_raises_on_is_not_a_feed_with_a_reason() -> None:
    # feedparser issue 599: a DOCTYPE entity value with a backslash breaks its regex rewrite
    body = (
        b'<!DOCTYPE rss [\n<!ENTITY path "C:\\data">\n]>\n<rss version="2.0"><channel>'
        b"<title>&path;</title><item><link>http://127.0.0.1/a</link></item></channel></rss>"
    )
    with pytest.raises(NotAFeed, match=r"^unreadable feed: feedparser failed \(error: bad escape"):
        parse_feed(body, "http://127.0.0.1/feed")
