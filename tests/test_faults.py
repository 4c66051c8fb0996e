"""The fault table: each broken or hostile feed or page, crawled for real beside good feeds.

Every case runs `Crawler.crawl` over the good feeds of the fixture sites (127.0.0.1) and one feed
of a hostile server (127.0.0.2): the hostile thing must be recorded with its reason, the good
articles must all be stored (rows lost: 0), and no request may reach the hostile server's
/secret. `make faults` prints the table; docs/reliability.md explains each row.
"""

from __future__ import annotations

import collections
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from pipeline.urls import canonical_url
from storage.store import Store
from tests.conftest import CrawlFeeds, Sites
from tests.helpers import distinct_article_page, free_port, query
from tests.hostile import gzip_bomb, reset_mid_body, streamed
from tests.stories import TRUTH

pytestmark = pytest.mark.fault
CONTROL_FEEDS = ("aljazeera/feed.xml", "sciencealert/feed.xml", "thehill/feed.xml")
CONTROL_ARTICLES = [item["url"] for item in TRUTH.values()]
SETTINGS = {"total_timeout": 2.0, "max_entries_per_feed": 5}


def rss(*items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    body = "".join(f"<item>{item}</item>" for item in items)
    return f'{prolog}<rss version="2.0"><channel><title>Hostile</title>{body}</channel></rss>'


def item(link: str, title: str = "An item", extra: str = "") -> str:
    return f"<title>{title}</title><link>{link}</link>{extra}"


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 11)
    )
    + ']><rss version="2.0"><channel><title>&lol10;</title><item>'
    + item("/good/laughs")
    + "</item></channel></rss>"
)


def feed_cases(secret: str) -> dict[str, tuple[bytes, str]]:
    """Feed name -> (body, content type)."""
    xml = "application/rss+xml"
    external = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{secret}/dtd" '
        f'[<!ENTITY leak SYSTEM "{secret}/entity"><!ENTITY file SYSTEM "file:///etc/passwd">]>'
    )
    return {
        "malformed": (rss(item("/good/a", "Bad & worse")).encode()[:-20], xml),
        "html": (b"<!DOCTYPE html><html><body><p>Not a feed</p></body></html>", "text/html"),
        "empty": (b"", xml),
        "binary": (bytes(range(256)) * 40, "application/octet-stream"),
        "wrong-encoding": (
            rss(item("/good/enc", "Caf\u00e9 cr\u00e8me")).encode("latin-1"),
            xml,
        ),
        "no-encoding": (
            rss(item("/good/cp", "\u201cquoted\u201d"), prolog="").encode("cp1252"),
            "text/xml",
        ),
        "huge": (
            rss(*(item(f"/good/{i}", f"Item {i}") for i in range(50_000))).encode(),
            xml,
        ),
        "oversized": (rss(item("/good/o", "x" * 11_000_000)).encode(), xml),
        "no-links-or-dates": (
            rss(
                "<title>No link</title>",
                '<guid isPermaLink="false">not-a-url</guid>',
                item("/good/undated"),
            ).encode(),
            xml,
        ),
        "odd-dates": (
            rss(
                item("/good/future", extra="<pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate>"),
                item("/good/past", extra="<pubDate>Mon, 01 Jan 1900 00:00:00 GMT</pubDate>"),
                item("/good/nonsense", extra="<pubDate>Feb 31 25:61</pubDate>"),
            ).encode(),
            xml,
        ),
        "relative-links": (
            rss(item("../good/relative"), item("../good/./relative2")).encode(),
            xml,
        ),
        "billion-laughs": (BILLION_LAUGHS.encode(), xml),
        "external-entities": (
            rss(item("/good/entities", "&leak; &file;"), prolog=external).encode(),
            xml,
        ),
        "bad-char-refs": (rss(item("/good/refs", "&#x110000; &#xD800;")).encode(), xml),
    }


def hostile_app(secret_requests: list[str]) -> web.Application:
    """Feeds at /feed/<name>.xml; /list.xml?link=...; good pages at /good/...; bad at /page/..."""
    feeds = feed_cases("/secret")

    async def secret(request: web.Request) -> web.Response:
        secret_requests.append(request.path)
        return web.Response(text="SECRET")

    async def feed(request: web.Request) -> web.Response:
        body, content_type = feeds[request.match_info["name"]]
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def listing(request: web.Request) -> web.Response:
        links = request.query.getall("link")
        return web.Response(
            text=rss(*(item(link, f"Link {n}") for n, link in enumerate(links))),
            content_type="application/rss+xml",
        )

    async def good(request: web.Request) -> web.Response:
        n = sum(map(ord, request.match_info["name"]))
        base = f"http://{request.host}/good"
        return web.Response(text=distinct_article_page(n, base), content_type="text/html")

    app = web.Application()
    app.router.add_get("/feed/{name}.xml", feed)
    app.router.add_get("/list.xml", listing)
    app.router.add_get("/good/{name:.*}", good)
    app.router.add_get("/secret/{rest:.*}", secret)
    app.router.add_get("/page/{kind}", bad_page)
    app.router.add_get("/page/storm/{n}", storm_500)
    app.router.add_get("/page/pause/{n}", storm_503)
    return app


async def storm_500(request: web.Request) -> web.Response:
    raise web.HTTPInternalServerError()


async def storm_503(request: web.Request) -> web.Response:
    raise web.HTTPServiceUnavailable(headers={"Retry-After": "3600"})


SOUP_WORDS = "Real text survives broken markup, unclosed tags and stray bytes in a page. "


FIXED_PAGES: dict[str, Callable[[], web.StreamResponse]] = {
    "pdf": lambda: web.Response(body=b"%PDF-1.7\n" + bytes(5000), content_type="application/pdf"),
    "binary": lambda: web.Response(body=bytes(range(256)) * 100, content_type="text/html"),
    "png": lambda: web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(500), content_type="image/png"),
    "bomb": lambda: web.Response(
        body=gzip_bomb(), headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
    ),
    "loop": lambda: web.Response(status=302, headers={"Location": "/page/loop"}),
    "empty": lambda: web.Response(body=b"", content_type="text/html"),
    "soup": lambda: web.Response(
        text=f"<html><body><div><p>{SOUP_WORDS * 8}<p><b>{SOUP_WORDS * 6}<table><td>\x00</div>",
        content_type="text/html",
    ),
}
STREAMED_PAGES = {  # chunk, how many times, pause between chunks
    "100mb": (bytes(1_000_000), 100, 0.0),
    "endless": (b"<p>more</p>" * 5_000, 100_000, 0.0),
    "trickle": (b"<", 100, 0.1),
}


async def bad_page(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind == "reset":
        return await reset_mid_body(request)
    if kind in STREAMED_PAGES:
        return await streamed(request, *STREAMED_PAGES[kind])
    return FIXED_PAGES[kind]()


@dataclass(frozen=True)
class Case:
    fault: str
    feed: str
    """The hostile feed: /feed/<name>.xml, or /list.xml?link=... listing bad pages."""
    reason: str | None
    """A regex every recorded failure of the case must match (None: nothing may fail)."""
    stored: int
    """Articles the hostile feed itself must yield."""
    settings: tuple[tuple[str, object], ...] = ()
    at_most: tuple[tuple[str, int], ...] = ()
    """Reasons that may be recorded only so many times."""


def listing(*links: str) -> str:
    return "/list.xml?" + "&".join(f"link={link}" for link in links)


PAUSE = r"127\.0\.0\.2:\d+ asked for a pause \(Retry-After\): \d+ s left"
CASES = [
    Case("malformed XML, cut short", "/feed/malformed.xml", None, 1),
    Case("HTML page instead of a feed", "/feed/html.xml", "not a feed: got an HTML page", 0),
    Case("empty body", "/feed/empty.xml", "empty response", 0),
    Case("binary body", "/feed/binary.xml", r"not an RSS or Atom feed \(.*\)", 0),
    Case("latin-1 bytes declared UTF-8", "/feed/wrong-encoding.xml", None, 1),
    Case("no encoding declared (cp1252)", "/feed/no-encoding.xml", None, 1),
    Case("50,000 items (max_entries_per_feed 5)", "/feed/huge.xml", None, 5),
    Case(
        "feed over max_body_bytes", "/feed/oversized.xml", "response larger than 10000000 bytes", 0
    ),
    Case("entries without links or dates", "/feed/no-links-or-dates.xml", None, 1),
    Case("dates in year 9999, 1900, nonsense", "/feed/odd-dates.xml", None, 3),
    Case("relative links", "/feed/relative-links.xml", None, 2),
    Case("billion laughs", "/feed/billion-laughs.xml", None, 1),
    Case("external DTD and entities", "/feed/external-entities.xml", None, 1),
    Case("character references outside Unicode", "/feed/bad-char-refs.xml", None, 1),
    Case("page is a PDF", listing("/page/pdf"), r"not an HTML page \(application/pdf\)", 0),
    Case(
        "binary page labelled text/html",
        listing("/page/binary"),
        "binary content, not an HTML page",
        0,
    ),
    Case("page is an image", listing("/page/png"), r"not an HTML page \(image/png\)", 0),
    Case("100 MB page", listing("/page/100mb"), "response larger than 10000000 bytes", 0),
    Case(
        "gzip bomb (100 MB of zeros)",
        listing("/page/bomb"),
        "response larger than 10000000 bytes",
        0,
    ),
    Case(
        "never-ending chunked page",
        listing("/page/endless"),
        "response larger than 10000000 bytes",
        0,
    ),
    Case("slow loris (a byte per 0.1 s)", listing("/page/trickle"), "timed out after 2 s", 0),
    Case("redirect loop", listing("/page/loop"), "more than 5 redirects", 0),
    Case("connection reset mid-body", listing("/page/reset"), "broken response body: .*", 0),
    Case("empty page", listing("/page/empty"), "empty page", 0),
    Case("tag soup with real text", listing("/page/soup"), None, 1),
    Case(
        "5xx storm: 30 pages answer 500",
        listing(*(f"/page/storm/{n}" for n in range(30))),
        "HTTP 500 Internal Server Error",
        0,
        settings=(("max_entries_per_feed", 40),),
    ),
    Case(
        "503 storm with Retry-After: 3600",
        listing(*(f"/page/pause/{n}" for n in range(30))),
        f"HTTP 503 Service Unavailable|{PAUSE}",
        0,
        settings=(("max_entries_per_feed", 40),),
        at_most=(("HTTP 503 Service Unavailable", 2),),  # per_host_concurrency: then it pauses
    ),
]
ROBOTS = r"robots\.txt unreachable \("  # a host's robots.txt is asked for first
ELSEWHERE = [
    Case(
        "dead host", listing("{dead}/page"), rf"{ROBOTS}cannot connect: Connect call failed .*\)", 0
    ),
    Case(
        "TLS certificate not trusted",
        listing("{tls}/page"),
        rf"{ROBOTS}TLS error: certificate not accepted: unable to get local issuer certificate\)",
        0,
    ),
    Case(
        "TLS to a plain-HTTP port",
        listing("{not_tls}/page"),
        rf"{ROBOTS}TLS error: wrong version number\)",
        0,
    ),
]


@dataclass(frozen=True)
class Hostile:
    base: str
    secret_requests: list[str]
    elsewhere: dict[str, str]


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    secret_requests: list[str] = []
    server = TestServer(hostile_app(secret_requests), host="127.0.0.2")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.4").configure_cert(context)
    tls = TestServer(web.Application(), host="127.0.0.4", scheme="https")
    not_tls = TestServer(web.Application(), host="127.0.0.5")
    await server.start_server()
    await tls.start_server(ssl=context)
    await not_tls.start_server()
    elsewhere = {
        "dead": f"http://127.0.0.1:{free_port()}",
        "tls": f"https://127.0.0.4:{tls.port}",
        "not_tls": f"https://127.0.0.5:{not_tls.port}",
    }
    yield Hostile(str(server.make_url("")), secret_requests, elsewhere)
    for each in (server, tls, not_tls):
        await each.close()


@pytest.mark.parametrize("case", CASES + ELSEWHERE, ids=lambda case: case.fault)
async def test_fault(
    case: Case,
    sites: Sites,
    hostile: Hostile,
    store: Store,
    crawl: CrawlFeeds,
    record_property: Callable[[str, object], None],
) -> None:
    feed = hostile.base + case.feed.format(**hostile.elsewhere)
    good_link = sites.url("dailyledger/news/1.html")
    if case.feed.startswith("/list.xml"):  # the good link first: max_entries_per_feed is 5
        feed = feed.replace("?", f"?link={good_link}&", 1)
    controls = [sites.url(path) for path in CONTROL_FEEDS]
    summary = await crawl(*controls, feed, **(SETTINGS | dict(case.settings)))

    reasons = [str(r) for (r,) in await query(store, "select reason from article_failures")]
    reasons += [r.error or "" for r in summary.failed_feeds]
    stored = await query(
        store,
        "select a.url, a.source_url, f.url from articles a join feeds f on f.id = a.feed_id",
    )
    stored_urls = {url for row in stored for url in row[:2]}
    expected = (
        [*CONTROL_ARTICLES, canonical_url(good_link)] if "?link=" in feed else CONTROL_ARTICLES
    )
    lost = [url for url in expected if url not in stored_urls]
    hostile_stored = [
        row for row in stored if row[2] == feed and row[1] != canonical_url(good_link)
    ]
    counts = collections.Counter(reasons)
    outcome = "; ".join(f"{r} (x{n})" if n > 1 else r for r, n in sorted(counts.items()))
    outcome = outcome or f"{len(hostile_stored)} stored"
    record_property("fault", case.fault)
    record_property("outcome", re.sub(r"127\.0\.0\.\d:\d+", "HOST", outcome)[:90])
    record_property("rows_lost", len(lost))

    assert lost == []
    assert hostile.secret_requests == []
    assert len(hostile_stored) == case.stored, outcome
    if case.reason is None:
        assert reasons == []
    else:
        assert reasons, "the fault was not recorded"
        for reason in reasons:
            assert re.fullmatch(case.reason, reason), reason
    for reason, most in case.at_most:
        assert counts[reason] <= most, counts
    assert summary.seconds < 30
