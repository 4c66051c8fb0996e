"""Pages for the throughput bench: the real corpus pages, made into as many distinct ones as needed.

Variant k is corpus page k % n with the words of each text run shuffled by seed k // n (seed 0
keeps the page as it is). Markup, scripts, styles and page size stay those of a real page, so
extraction costs what it costs on real pages, while every variant's text is its own: no two
variants are duplicates of each other, and no paragraph recurs across a site's articles unless
it is a short fixed text (a "Share" button), as on a real site.
"""

from __future__ import annotations

import gzip
import random
import re
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path

from pipeline.article import build_article, finish_article
from pipeline.extract import NotAnArticle
from pipeline.records import FeedEntry, HttpResponse
from pipeline.rules import RuleSet

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "aeb-dev" / "html"
# Scripts, styles and tags are kept as they are; the text between them is what gets shuffled.
MARKUP = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]*>)", re.S | re.I)
MIN_WORDS_SHUFFLED = 4
CANONICAL = re.compile(
    r"""<link[^>]*rel=["']canonical["'][^>]*href=["']([^"']+)["']"""
    r"""|<link[^>]*href=["']([^"']+)["'][^>]*rel=["']canonical["']""",
    re.I,
)


def corpus_pages(folder: Path = CORPUS) -> list[bytes]:
    return [gzip.decompress(path.read_bytes()) for path in sorted(folder.glob("*.html.gz"))]


def variant(page: bytes, number: int, seed: int) -> bytes:
    """Variant `number`, its words shuffled by `seed` (0: not shuffled).

    Each variant names its own canonical URL: pages of one story share theirs, variants are
    different stories.
    """
    html = page.decode("utf-8", errors="replace")
    if found := CANONICAL.search(html):
        canonical = found.group(1) or found.group(2)
        html = html.replace(canonical, f"{canonical.rstrip('/')}/variant-{number}")
    if seed == 0:
        return html.encode()
    rng = random.Random(seed)
    parts = MARKUP.split(html)
    for index in range(0, len(parts), 2):  # even indexes are text, odd ones markup
        words = parts[index].split()
        if len(words) >= MIN_WORDS_SHUFFLED:
            rng.shuffle(words)
            parts[index] = " ".join(words)
    return "".join(parts).encode()


def write_variant(base: bytes, number: int, seed: int, folder: Path) -> None:
    page = variant(base, number, seed)
    (folder / f"{number}.html.gz").write_bytes(gzip.compress(page, compresslevel=6))


def write_variants(count: int, folder: Path, executor: Executor) -> None:
    """Variants 0..count-1 as folder/N.html.gz (gzipped, as sites serve them)."""
    bases = corpus_pages()
    folder.mkdir(parents=True, exist_ok=True)
    futures = [
        executor.submit(write_variant, bases[k % len(bases)], k, k // len(bases), folder)
        for k in range(count)
        if not (folder / f"{k}.html.gz").exists()
    ]
    for future in futures:
        future.result()


def extract_and_finish(body: bytes, url: str, rules: RuleSet, min_words: int) -> int:
    """What the crawl's pool does for one page (extraction, cleaning, signature): the ceiling."""
    page = HttpResponse(url=url, final_url=url, status=200, body=body, content_type="text/html")
    entry = FeedEntry(link=url, guid=url, title=None)
    try:
        article = build_article(entry, page, rules, datetime.now(UTC))
    except NotAnArticle:  # the crawl records these as failed articles, after the same work
        return 0
    return len(finish_article(article, frozenset(), min_words).body)
