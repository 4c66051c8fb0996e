"""The tables. Column names are a public interface (docs/schema.md): change them by migration."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Readable in sqlite3 and sortable as text: '2022-01-01 10:30:00', always UTC.
SQLITE_DATETIME = sqlite.DATETIME(  # type: ignore[no-untyped-call]
    storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d",
    regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)",
)


CONVERTED_TIMES = 1024


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; timestamptz on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(SQLITE_DATETIME)
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware values")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Dialect) -> Any:
        process = super().bind_processor(dialect)
        # The rows of one write share their timestamps (the batch's `now`, thousands of
        # paragraph and band rows): each distinct value is converted once.
        return lru_cache(maxsize=CONVERTED_TIMES)(process) if process else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Made by migrations in plain SQL, with no model: full-text search (SQLite's FTS5 table and its
# shadow tables, PostgreSQL's expression index). Alembic's comparisons leave them alone.
SQL_ONLY = ("articles_fts", "ix_articles_search")


def in_models(item: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """Alembic's include_object: False for the objects above."""
    return not (name or "").startswith(SQL_ONLY)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    site_url: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(Text, server_default=text("'user'"), default="user")
    """'config' (listed in feeds.toml, follows that file) or 'user' (feeds add, OPML, --feed)."""
    active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    inactive_reason: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_body_hash: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    """Null: never scheduled, due now."""
    poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(Text)
    """The worker (host:pid) polling the feed, or that polled it last."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """While in the future, the feed is being polled by lease_owner; null once recorded."""


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (
        # A feed stores a URL once; across feeds, one original per URL and copies pointing at it.
        UniqueConstraint("feed_id", "url"),
        Index(
            "uq_articles_original_url",
            "url",
            unique=True,
            sqlite_where=text("duplicate_of IS NULL"),
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        Index(None, "url"),
        Index(None, "url_key"),
        Index(None, "source_url_key"),
        Index(None, "guid"),
        Index(None, "content_hash"),
        Index(None, "source_url"),
        Index(None, "feed_id", "published_at"),
        Index(None, "duplicate_of"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    url: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str | None] = mapped_column(Text)
    """url without scheme, www./m./amp. host, AMP markers, trailing slash: what URL copies share."""
    source_url_key: Mapped[str | None] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    guid_key: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    duplicate_kind: Mapped[str | None] = mapped_column(Text)
    similarity: Mapped[float | None] = mapped_column(Float)
    """For a copy: estimated Jaccard similarity of its body's shingles to the original's."""
    raw_body: Mapped[str | None] = mapped_column(Text)
    """The extracted text before any cleaning, so that cleaning can be re-run."""
    site: Mapped[str | None] = mapped_column(Text, index=True)
    """Registered domain of the page fetched (host:port for an IP)."""


class ArticleFailureRow(Base):
    """Article pages that could not be turned into a record, and why; retried a few times."""

    __tablename__ = "article_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    url: Mapped[str] = mapped_column(Text, unique=True)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("1"), default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SiteRow(Base):
    """Original articles seen per site: the denominator of learned boilerplate."""

    __tablename__ = "sites"

    site: Mapped[str] = mapped_column(Text, primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class SiteParagraphRow(Base):
    """How often a (fingerprinted) paragraph recurs across a site's articles."""

    __tablename__ = "site_paragraphs"
    __table_args__ = (UniqueConstraint("site", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text)
    sample: Mapped[str] = mapped_column(Text)
    article_count: Mapped[int] = mapped_column(Integer)
    site_articles_at_first_seen: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NearDuplicateSignatureRow(Base):
    """MinHash signatures of the originals inside the near-duplicate window."""

    __tablename__ = "near_duplicate_signatures"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class NearDuplicateBandRow(Base):
    """LSH bands: originals sharing a band key with a new article are its candidates."""

    __tablename__ = "near_duplicate_bands"
    __table_args__ = (Index(None, "indexed_at"),)

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime)
