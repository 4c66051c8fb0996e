"""Feed bytes -> ParsedFeed, with feedparser. Pure: no network (feedparser is only given bytes)."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.etree
import lxml.html

from pipeline.records import FeedEntry, ParsedFeed
from pipeline.urls import is_http_url

BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")


class NotAFeed(Exception):
    """The bytes are not an RSS/Atom/RDF feed we can read entries from."""


CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")
REPLACEMENT_REF = b"&#xFFFD;"


def _repaired_char_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, digits = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(digits)
    return match.group() if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else REPLACEMENT_REF


def repair_char_refs(body: bytes) -> bytes:
    """Character references past Unicode or to surrogates become U+FFFD.

    feedparser's loose parser raises on them instead of flagging the feed (feedparser
    issues 591 and 599), which would lose every entry of an otherwise readable feed.
    """
    return CHAR_REF.sub(_repaired_char_ref, body) if b"&#" in body else body


def _as_datetime(parsed: time.struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def html_to_text(fragment: str | None) -> str | None:
    """Feed summaries are (sanitised) HTML; we store plain text."""
    if not fragment or not fragment.strip():
        return None
    if "<" not in fragment and "&" not in fragment:
        # No tags and no entities: already text. Most titles and names are, and an lxml
        # parse of each costs the pool more than parsing the feed's own XML.
        return " ".join(fragment.split())
    return markup_to_text(fragment)


def markup_to_text(fragment: str) -> str | None:
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return " ".join(fragment.split()) or None
    for hidden in list(root.iter("script", "style")):
        hidden.drop_tree()  # code, not text
    for block in root.iter(*BLOCK_TAGS):
        block.tail = " " + (block.tail or "")
    text = root.text_content()
    collapsed = " ".join(text.split())
    return collapsed or None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    stripped = " ".join(value.split())
    return stripped or None


def _plain(value: Any) -> str | None:
    """Titles and names are stored as plain text, whatever markup a feed puts in them."""
    return html_to_text(value) if isinstance(value, str) else None


def _entry(raw: Any, feed_url: str) -> FeedEntry | None:
    link = _text(raw.get("link"))
    guid = _text(raw.get("id"))
    if not link and guid and is_http_url(guid):
        link = guid
    if not link:
        return None
    link = urljoin(feed_url, link)
    if not is_http_url(link):
        return None
    published = raw.get("published_parsed") or raw.get("updated_parsed")
    return FeedEntry(
        link=link,
        guid=guid,
        title=_plain(raw.get("title")),
        author=_plain(raw.get("author")),
        published_at=_as_datetime(published),
        summary=html_to_text(raw.get("summary")),
    )


SY_PERIODS = {
    "hourly": 3600,
    "daily": 86_400,
    "weekly": 604_800,
    "monthly": 2_592_000,
    "yearly": 31_536_000,
}


def _positive_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _update_period(feed: Any) -> float | None:
    """sy:updatePeriod (default daily) divided by sy:updateFrequency (default 1)."""
    period = feed.get("sy_updateperiod")
    frequency = feed.get("sy_updatefrequency")
    if period is None and frequency is None:
        return None
    seconds = SY_PERIODS.get(str(period or "daily").strip().lower())
    return seconds / (_positive_number(frequency or 1) or 1) if seconds else None


def parse_feed(
    body: bytes,
    url: str,
    content_type: str = "",
    charset: str | None = None,
    max_entries: int | None = None,
) -> ParsedFeed:
    """Parse feed bytes. A malformed feed that still yields entries is used, with a warning.

    charset: the one HTTP declared, which feedparser weighs with the document's own.
    max_entries: only the first ones are read (a feed of 50,000 items costs seconds more).
    """
    if not body.strip():
        raise NotAFeed("empty response")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    try:
        result = feedparser.parse(
            repair_char_refs(body), response_headers=headers, sanitize_html=True
        )
    except Exception as error:  # feedparser should flag, not raise; some inputs still raise
        reason = f"{type(error).__name__}: {error}"[:200]
        raise NotAFeed(f"unreadable feed: feedparser failed ({reason})") from None
    warning = None
    if result.get("bozo"):
        warning = f"malformed feed: {result.get('bozo_exception')}"
    feed = result.get("feed", {})
    if not result.get("version") and not result.get("entries"):
        if b"<html" in body[:4096].lower():
            raise NotAFeed("not a feed: got an HTML page")
        raise NotAFeed(f"not an RSS or Atom feed ({warning or 'no feed elements found'})")
    raw_entries = result.get("entries", [])[:max_entries]
    entries = tuple(entry for raw in raw_entries if (entry := _entry(raw, url)) is not None)
    return ParsedFeed(
        title=_plain(feed.get("title")),
        site_url=_text(feed.get("link")),
        language=_text(feed.get("language")),
        entries=entries,
        warning=warning,
        ttl=ttl * 60 if (ttl := _positive_number(feed.get("ttl"))) else None,
        update_period=_update_period(feed),
    )
