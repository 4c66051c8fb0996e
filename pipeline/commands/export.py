"""export: articles to JSON Lines, CSV or Parquet (see pipeline/export.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from pipeline.commands import EXIT_OK
from pipeline.commands.context import Context
from pipeline.export import ExportError, export_articles
from storage.database import DatabaseError, create_engine, database_url, redacted
from storage.exports import ExportFilter, feed_ids_by_url, has_articles_table
from storage.store import database_reason


def parse_when(value: str | None, flag: str) -> datetime | None:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ExportError(f"{flag}: not an ISO 8601 date: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _check_database_exists(url: str) -> None:
    """Reading must not create an empty SQLite file where the user mistyped a path."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite" and not os.path.exists(parsed.database or ""):
        raise ExportError(f"no database at {parsed.database}")


async def export_command(context: Context) -> int:
    args = context.args
    since, until = parse_when(args.since, "--since"), parse_when(args.until, "--until")
    if since and until and until <= since:
        raise ExportError("--until must be later than --since")
    if args.after_id < 0:
        raise ExportError("--after-id must not be negative")
    url = context.database_url
    await asyncio.to_thread(_check_database_exists, url)
    engine = create_engine(url)
    try:
        if not await has_articles_table(engine):
            raise ExportError(
                f"{redacted(url)} has no articles table yet: run `rss-ingest db upgrade` or a crawl"
            )
        feed_ids = None
        if args.feed:
            known = await feed_ids_by_url(engine, args.feed)
            unknown = [feed for feed in args.feed if feed not in known]
            if unknown:
                raise ExportError(f"no feed with URL {unknown[0]}")
            feed_ids = list(known.values())
        filters = ExportFilter(since, until, feed_ids, args.originals_only, args.after_id)
        result = await export_articles(engine, filters, args.format, args.output)
    except (OSError, SQLAlchemyError) as error:
        reason = database_reason(error)
        raise DatabaseError(f"cannot use database {redacted(url)}: {reason}") from None
    finally:
        await engine.dispose()
    # Only the id on standard error, so that a nightly job can keep it for --after-id.
    print(result.last_id, file=sys.stderr)
    return EXIT_OK
