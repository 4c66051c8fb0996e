"""reclean (stored articles) and extract (one page, to see what cleaning does)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pipeline.article import build_article
from pipeline.boilerplate import apply_learned
from pipeline.commands import EXIT_OK
from pipeline.commands.context import CommandError, Context, load_rules_for, open_store
from pipeline.crawl import thresholds_from
from pipeline.extract import NotAnArticle
from pipeline.fetch import PAGE_ACCEPT, Fetcher, FetchError
from pipeline.reclean import reclean
from pipeline.records import Article, FeedEntry, HttpResponse
from pipeline.urls import is_http_url
from storage.database import database_url
from storage.site_paragraphs import site_boilerplate


async def reclean_command(context: Context) -> int:
    rules = load_rules_for(context)
    store = await open_store(context)
    try:
        result = await reclean(store, rules, thresholds_from(context.settings), context.args.site)
    finally:
        await store.engine.dispose()
    print(f"reclean: {result.examined} articles examined, {result.changed} bodies changed")
    return EXIT_OK


def _read_page(source: str, url: str | None) -> HttpResponse:
    url = url or f"file://{os.path.abspath(source)}"
    try:
        body = Path(source).read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {source}: {error.strerror}") from None
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return HttpResponse(url, url, 200, body, "text/html", None)


async def _fetch_page(context: Context, url: str) -> HttpResponse:
    async with Fetcher(context.settings) as fetcher:
        try:
            return await fetcher.get(url, accept=PAGE_ACCEPT)
        except FetchError as error:
            raise CommandError(f"cannot fetch {url}: {error}") from None


async def _learned_from_database(context: Context, article: Article) -> Article:
    """Apply the site's learned boilerplate when a database with some exists; never create one."""
    url = database_url(context.database_url)
    sqlite_file = url.database or "" if url.get_backend_name() == "sqlite" else None
    if sqlite_file is not None and not await asyncio.to_thread(os.path.exists, sqlite_file):
        return article
    try:
        store = await open_store(context)
    except Exception:  # a missing or unreachable database only means no learned patterns
        return article
    try:
        async with store.reading() as session:
            boilerplate = await site_boilerplate(
                session, article.site, thresholds_from(context.settings)
            )
    finally:
        await store.engine.dispose()
    return apply_learned(article, boilerplate)


async def extract_command(context: Context) -> int:
    source: str = context.args.source
    remote = is_http_url(source)
    if remote:
        page = await _fetch_page(context, source)
    else:
        page = await asyncio.to_thread(_read_page, source, context.args.url)
    url = context.args.url or page.url
    rules = load_rules_for(context)
    try:
        article = build_article(FeedEntry(link=url), page, rules, datetime.now(UTC))
    except NotAnArticle as error:
        raise CommandError(f"{source}: {error}") from None
    article = await _learned_from_database(context, article)
    if not context.args.json:
        print(article.body)
        return EXIT_OK
    document = {
        "url": article.url,
        "site": article.site,
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "language": article.language,
        "word_count": article.word_count,
        "body": article.body,
        "raw_text": article.raw_body,
        "dropped": [{"rule": d.rule, "text": d.text} for d in article.dropped],
    }
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return EXIT_OK
