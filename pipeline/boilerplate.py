"""Boilerplate learned across a site's articles: a paragraph that recurs in many of them.

Pure decisions; the counts live in the database (site_paragraphs, sites) and the crawler keeps
them. A paragraph is boilerplate for a site when it was seen in at least `min_articles` of the
site's original articles and in at least `min_share` of the site's articles since it first
appeared, counted over at least `min_sample` articles: on a young site, three versions of one
story must not look like a footer. Paragraphs are compared by fingerprint: case, digits, month
and day names and URLs do not count, so a footer with a changing date or link still matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from courlan import extract_domain

from pipeline.clean import normalise_paragraph
from pipeline.dedup import content_hash
from pipeline.records import Article, DroppedParagraph

URL = re.compile(r"(?:https?://|www\.)\S+")
NUMBER = re.compile(r"\d+")
CALENDAR = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\b"
)
LEARNED = "learned"


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_articles: int = 3
    min_share: float = 0.3
    min_sample: int = 20


@dataclass(frozen=True, slots=True)
class ParagraphStats:
    articles: int
    """Original articles of the site that contained the paragraph."""
    site_articles_at_first_seen: int
    """The site's article count when the paragraph was first seen."""


def site_of(url: str) -> str:
    """The registered domain (news.bbc.co.uk: bbc.co.uk); host:port where there is none (IPs)."""
    domain = extract_domain(url)
    if domain:
        return str(domain)
    return urlsplit(url).netloc.lower()


def fingerprint(paragraph: str) -> str:
    text = normalise_paragraph(paragraph)
    text = URL.sub("<url>", text)
    text = CALENDAR.sub("<day>", text)
    text = NUMBER.sub("0", text)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def is_boilerplate(stats: ParagraphStats, site_articles: int, thresholds: Thresholds) -> bool:
    since = max(site_articles - stats.site_articles_at_first_seen, thresholds.min_sample)
    return (
        stats.articles >= thresholds.min_articles and stats.articles / since >= thresholds.min_share
    )


def combined_stats(
    site_articles: int,
    stored: Mapping[str, ParagraphStats],
    batch: Sequence[Collection[str]],
) -> tuple[int, dict[str, ParagraphStats]]:
    """Counts as they will be once the batch (fingerprints per new article) is stored."""
    stats = dict(stored)
    for fingerprints in batch:
        for print_ in set(fingerprints):
            known = stats.get(print_)
            if known is None:
                stats[print_] = ParagraphStats(1, site_articles)
            else:
                stats[print_] = ParagraphStats(
                    known.articles + 1, known.site_articles_at_first_seen
                )
    return site_articles + len(batch), stats


def learned_boilerplate(
    site_articles: int, stats: Mapping[str, ParagraphStats], thresholds: Thresholds
) -> frozenset[str]:
    return frozenset(
        print_
        for print_, counts in stats.items()
        if is_boilerplate(counts, site_articles, thresholds)
    )


def learned_in(prints: Sequence[str], boilerplate: Collection[str]) -> frozenset[str]:
    """The fingerprints of the paragraphs learning drops from a text whose paragraphs have these:
    none when it would drop them all (an article is never emptied by learning alone)."""
    found = frozenset(print_ for print_ in prints if print_ in boilerplate)
    return frozenset() if found == frozenset(prints) else found


def remove_learned(
    paragraphs: Sequence[str],
    boilerplate: Collection[str],
    prints: Sequence[str] | None = None,
) -> tuple[list[str], list[DroppedParagraph]]:
    """Split paragraphs into kept and dropped. prints: their fingerprints, if already taken."""
    if prints is None:
        prints = [fingerprint(paragraph) for paragraph in paragraphs]
    dropping = learned_in(prints, boilerplate)
    kept: list[str] = []
    dropped: list[DroppedParagraph] = []
    for paragraph, print_ in zip(paragraphs, prints, strict=True):
        if print_ in dropping:
            dropped.append(DroppedParagraph(paragraph, f"{LEARNED}:{print_}"))
        else:
            kept.append(paragraph)
    return kept, dropped


def apply_learned(article: Article, boilerplate: Collection[str]) -> Article:
    """The article without its site's learned boilerplate; hash and word count follow the body."""
    paragraphs = article.body.split("\n\n")
    # The fingerprints are of the body as extracted: the body's own until learning removed some.
    prints = article.fingerprints if len(article.fingerprints) == len(paragraphs) else None
    kept, dropped = remove_learned(paragraphs, boilerplate, prints)
    if not dropped:
        return article
    body = "\n\n".join(kept)
    return replace(
        article,
        body=body,
        word_count=len(body.split()),
        content_hash=content_hash(body),
        dropped=article.dropped + tuple(dropped),
    )
