"""Full-text search over titles and bodies (migration 0006): SQLite FTS5 or PostgreSQL tsvector.

Both read the same query language: words (all must occur), "quoted phrases", and on PostgreSQL
also `or` and -excluded words (websearch_to_tsquery). No stemming: words match as written,
case and accents aside.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Text, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UTCDateTime

SQLITE_SEARCH = """
    SELECT a.id, a.published_at, a.site, a.title, a.url, a.duplicate_of,
           snippet(articles_fts, 1, '[', ']', ' … ', 16) AS snippet
    FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
    WHERE articles_fts MATCH :query {originals}
    ORDER BY articles_fts.rank
    LIMIT :limit
"""
# The document expression is the one the GIN index was built on (migration 0006).
POSTGRES_SEARCH = """
    SELECT hit.id, hit.published_at, hit.site, hit.title, hit.url, hit.duplicate_of,
           ts_headline('simple', hit.body, websearch_to_tsquery('simple', :query),
                       'StartSel=[, StopSel=], MaxWords=16, MinWords=6') AS snippet
    FROM (
        SELECT a.*, ts_rank(to_tsvector('simple', coalesce(title, '') || ' ' || body),
                            websearch_to_tsquery('simple', :query)) AS score
        FROM articles a
        WHERE to_tsvector('simple', coalesce(title, '') || ' ' || body)
              @@ websearch_to_tsquery('simple', :query) {originals}
        ORDER BY score DESC
        LIMIT :limit
    ) hit
    ORDER BY hit.score DESC
"""


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    published_at: datetime | None
    site: str | None
    title: str | None
    url: str
    duplicate_of: int | None
    snippet: str


def fts5_query(terms: str) -> str:
    """User terms as an FTS5 query: every word or "phrase" quoted, so none is an operator."""
    try:
        words = shlex.split(terms)
    except ValueError:  # an unbalanced quote: take the words as they are
        words = terms.replace('"', " ").split()
    return " ".join('"' + word.replace('"', '""') + '"' for word in words if word.strip())


async def search(
    session: AsyncSession, terms: str, limit: int = 20, originals_only: bool = False
) -> list[SearchHit]:
    sqlite = session.get_bind().dialect.name == "sqlite"
    query = fts5_query(terms) if sqlite else terms
    if not query.strip():
        return []
    originals = "AND a.duplicate_of IS NULL" if originals_only else ""
    statement = text((SQLITE_SEARCH if sqlite else POSTGRES_SEARCH).format(originals=originals))
    typed = statement.columns(
        id=Integer,
        published_at=UTCDateTime,
        site=Text,
        title=Text,
        url=Text,
        duplicate_of=Integer,
        snippet=Text,
    )
    rows = await session.execute(typed, {"query": query, "limit": limit})
    return [SearchHit(*row) for row in rows]
