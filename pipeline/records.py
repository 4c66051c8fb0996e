"""The plain data of the pipeline: feed -> fetch -> parse -> extract -> clean -> dedup -> store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the feed describes it."""

    link: str
    guid: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    language: str | None
    entries: tuple[FeedEntry, ...]
    warning: str | None = None
    """Why feedparser found the document malformed, when it still yielded entries."""
    ttl: float | None = None
    """Seconds the feed asks to be cached (RSS <ttl>)."""
    update_period: float | None = None
    """Seconds between updates the feed announces (sy:updatePeriod / sy:updateFrequency)."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response as it came off the wire (body already decompressed, capped in size)."""

    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None
    """Cache-Control: max-age, in seconds."""
    permanent_url: str | None = None
    """Where a chain of permanent redirects (301, 308) led, if the request met one."""


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What trafilatura found in a page, before our cleaning."""

    text: str
    """Paragraphs, one per line."""
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None


@dataclass(frozen=True, slots=True)
class DroppedParagraph:
    text: str
    rule: str


@dataclass(frozen=True, slots=True)
class CleanText:
    body: str
    """Paragraphs separated by one blank line."""
    dropped: tuple[DroppedParagraph, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """A clean record, ready to be stored (the feed id is added by the store)."""

    url: str
    source_url: str
    guid: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    summary: str | None
    body: str
    word_count: int
    content_hash: str | None
    raw_body: str = ""
    """The extracted text before any cleaning, paragraphs separated by a blank line."""
    site: str = ""
    """Registered domain of the page fetched: whose layout, rules and boilerplate apply."""
    dropped: tuple[DroppedParagraph, ...] = field(default=(), compare=False)
    signature: bytes | None = None
    """MinHash of the final clean body (pipeline.neardup); None for a short body."""
    signed_without: frozenset[str] | None = field(default=None, compare=False)
    """The fingerprints of the paragraphs left out of the text the signature was taken of;
    None: not signed yet. The signature is the final body's when these are exactly the ones
    learning removes (pipeline.article.is_signed_for)."""
    fingerprints: tuple[str, ...] = field(default=(), compare=False)
    """pipeline.boilerplate fingerprints of the body's paragraphs as extracted, in order:
    taken in the pool, so that learning costs the crawl's event loop nothing."""
