"""search: full-text search over the stored titles and bodies."""

from __future__ import annotations

import json

from pipeline.commands import EXIT_OK
from pipeline.commands.context import CommandError, Context, open_store
from storage.search import SearchHit, search


def _line(hit: SearchHit) -> str:
    day = hit.published_at.date().isoformat() if hit.published_at else "----------"
    copy = f" (copy of #{hit.duplicate_of})" if hit.duplicate_of else ""
    return f"#{hit.id} {day} {hit.site or ''}: {hit.title or hit.url}{copy}\n    {hit.snippet}"


def _document(hit: SearchHit) -> str:
    return json.dumps(
        {
            "id": hit.id,
            "published_at": hit.published_at.isoformat() if hit.published_at else None,
            "site": hit.site,
            "title": hit.title,
            "url": hit.url,
            "duplicate_of": hit.duplicate_of,
            "snippet": hit.snippet,
        },
        ensure_ascii=False,
    )


async def search_command(context: Context) -> int:
    terms = " ".join(context.args.terms)
    if not terms.strip():
        raise CommandError("search: give at least one word")
    if context.args.limit <= 0:
        raise CommandError("search: --limit must be greater than 0")
    store = await open_store(context)
    try:
        async with store.reading() as session:
            hits = await search(session, terms, context.args.limit, context.args.originals_only)
    finally:
        await store.engine.dispose()
    for hit in hits:
        print(_document(hit) if context.args.json else _line(hit))
    return EXIT_OK
