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

from pipeline.article import build_signed_article, finish_article
from pipeline.extract import NotAnArticle
from pipeline.records import FeedEntry, HttpResponse
from pipeline.rules import RuleSet

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "aeb-dev" / "html"
# A clone without ../shared: the real pages the test fixtures carry (same benchmark, fewer).
FIXTURE_PAGES = ROOT / "tests" / "fixtures" / "sites"
# Scripts, styles and tags are kept as they are; the text between them is what gets shuffled.
MARKUP = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]*>)", re.S | re.I)
MIN_WORDS_SHUFFLED = 4
# Where a page names its own URL: <link rel=canonical> and <meta property=og:url>.
OWN_URL = re.compile(
    r"""<link[^>]*rel=["']canonical["'][^>]*href=["']([^"']+)["']"""
    r"""|<link[^>]*href=["']([^"']+)["'][^>]*rel=["']canonical["']"""
    r"""|<meta[^>]*property=["']og:url["'][^>]*content=["']([^"']+)["']"""
    r"""|<meta[^>]*content=["']([^"']+)["'][^>]*property=["']og:url["']""",
    re.I,
)


def corpus_pages() -> tuple[str, list[bytes]]:
    """(where from, the pages): ../shared's corpus, or the fixtures' real pages without it."""
    if CORPUS.is_dir():
        paths, origin = sorted(CORPUS.glob("*.html.gz")), str(CORPUS)
    else:
        paths = sorted(FIXTURE_PAGES.glob("*/articles/*.html.gz"))
        origin = f"{FIXTURE_PAGES} (no {CORPUS})"
    return origin, [gzip.decompress(path.read_bytes()) for path in paths]


def variant(page: bytes, number: int, seed: int) -> bytes:
    """Variant `number`, its words shuffled by `seed` (0: not shuffled).

    Each variant names its own URL wherever the page names one: pages of one story share
    theirs, variants are different stories.
    """
    html = page.decode("utf-8", errors="replace")
    for own_url in {next(url for url in found.groups() if url) for found in OWN_URL.finditer(html)}:
        html = html.replace(own_url, f"{own_url.rstrip('/')}/variant-{number}")
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
    _, bases = corpus_pages()
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
        article = build_signed_article(entry, page, rules, datetime.now(UTC), None, (), min_words)
    except NotAnArticle:  # the crawl records these as failed articles, after the same work
        return 0
    return len(finish_article(article, frozenset(), min_words).body)
