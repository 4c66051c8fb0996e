"""A feed entry and its fetched page -> a clean Article. Pure, CPU-bound: runs in the pool."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from pipeline import neardup
from pipeline.boilerplate import apply_learned, fingerprint, learned_in, site_of
from pipeline.clean import clean_text, split_paragraphs
from pipeline.dedup import content_hash
from pipeline.extract import NotAnArticle, extract_page
from pipeline.records import Article, FeedEntry, HttpResponse
from pipeline.rules import RuleSet
from pipeline.urls import canonical_url, host_of, is_http_url, page_canonical_url


def build_article(
    entry: FeedEntry,
    page: HttpResponse,
    rules: RuleSet,
    fetched_at: datetime,
    feed_language: str | None = None,
) -> Article:
    """Extract, clean and describe one article.

    Metadata: the feed's title, author and date are preferred (publishers write them for
    machines; page dates are often only a day), the page's are the fallback.
    """
    extracted = extract_page(page, rules)
    url = page_canonical_url(extracted.canonical_url, page.final_url)
    # Rules follow the layout of the page we fetched and of the site it names as canonical.
    page_rules = rules.for_hosts(host_of(page.final_url), host_of(url))
    cleaned = clean_text(extracted.text, (entry.title, extracted.title), page_rules)
    if not cleaned.body:
        raise NotAnArticle("no article text left after cleaning")
    return Article(
        url=url,
        source_url=canonical_url(entry.link),
        guid=entry.guid,
        title=entry.title or extracted.title,
        author=entry.author or extracted.author,
        published_at=entry.published_at or extracted.published_at,
        fetched_at=fetched_at,
        language=extracted.language or feed_language,
        summary=entry.summary,
        body=cleaned.body,
        word_count=len(cleaned.body.split()),
        content_hash=content_hash(cleaned.body),
        raw_body="\n\n".join(split_paragraphs(extracted.text)),
        # a page read from a file is known by the URL it declares
        site=site_of(page.final_url if is_http_url(page.final_url) else url),
        dropped=cleaned.dropped,
        fingerprints=tuple(fingerprint(p) for p in cleaned.body.split("\n\n")),
    )


def build_signed_article(
    entry: FeedEntry,
    page: HttpResponse,
    rules: RuleSet,
    fetched_at: datetime,
    feed_language: str | None,
    learned: Collection[str],
    min_words: int,
) -> Article:
    """build_article, signed as if `learned` were its site's boilerplate (its body is left as
    extracted: learning counts its paragraphs).

    The crawl passes what it last learned of the site: while that holds, finishing the article
    needs no second trip to the pool (is_signed_for).
    """
    article = build_article(entry, page, rules, fetched_at, feed_language)
    finished = finish_article(article, learned, min_words)
    return replace(article, signature=finished.signature, signed_without=finished.signed_without)


def is_signed_for(article: Article, boilerplate: Collection[str]) -> bool:
    """Whether the article's signature is of its body as learning this boilerplate leaves it."""
    return article.signed_without == learned_in(article.fingerprints, boilerplate)


def finish_article(article: Article, boilerplate: Collection[str], min_words: int) -> Article:
    """The article without its site's learned boilerplate, signed for near-duplicate lookup.

    Cheap when the article is signed for this boilerplate already (no pool needed); else it
    signs (in the pool): the signature must be taken of the body as it will be stored.
    """
    finished = apply_learned(article, boilerplate) if boilerplate else article
    removed = learned_in(article.fingerprints, boilerplate)
    if article.signed_without == removed:  # is_signed_for
        return finished
    return replace(
        finished, signature=neardup.signature(finished.body, min_words), signed_without=removed
    )
