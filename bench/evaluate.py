"""`make eval`: body extraction quality against ground truth, trafilatura alone vs rss-ingest.

The metric is the article-extraction-benchmark's: per page, token 4-gram shingles of the
predicted body against the true one give TP/FP/FN, normalised so that long pages weigh no more
than short ones; precision and recall are means over pages and F1 comes from those means.

rss-ingest here is the crawler's own path: extraction with the site rules, the generic rules,
then boilerplate learned across each site's pages in the corpus, as a crawl of them would.

    make eval                      # ../shared/corpus/aeb-dev (if present) and the 12-page site
    make eval CORPUS=DIR           # any folder with html/<key>.html[.gz] and ground-truth.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from pipeline.article import build_article
from pipeline.boilerplate import Thresholds, apply_learned, combined_stats, fingerprint
from pipeline.boilerplate import learned_boilerplate as learn
from pipeline.extract import NotAnArticle
from pipeline.records import Article, FeedEntry, HttpResponse
from pipeline.rules import RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "aeb-dev"
LEDGER = ROOT / "tests" / "fixtures" / "sites" / "dailyledger"
TOKEN = re.compile(r"\w+")
SHINGLE = 4


@dataclass(frozen=True, slots=True)
class Page:
    key: str
    url: str
    html: bytes
    truth: str


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float


def shingles(text: str, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def page_counts(truth: str, predicted: str) -> tuple[float, float, float]:
    """TP, FP, FN over shingles, normalised to sum to 1."""
    true, pred = shingles(truth), shingles(predicted)
    tp = float(sum((true & pred).values()))
    fp = float(sum((pred - true).values()))
    fn = float(sum((true - pred).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def scores(counts: Sequence[tuple[float, float, float]]) -> Scores:
    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    return Scores(p, r, 2 * p * r / (p + r) if p + r else 0.0)


def load_corpus(folder: Path) -> list[Page]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, item in sorted(truth.items()):
        for name in (f"{key}.html.gz", f"{key}.html"):
            path = folder / "html" / name
            if path.exists():
                data = path.read_bytes()
                html = gzip.decompress(data) if name.endswith(".gz") else data
                pages.append(Page(key, item["url"], html, item["articleBody"]))
                break
        else:
            raise SystemExit(f"{folder}: no html/{key}.html[.gz]")
    return pages


def load_ledger() -> list[Page]:
    """The 12-page fixture site: one template, a shared byline, newsletter box and footer."""
    truth = json.loads((LEDGER / "ground-truth.json").read_text(encoding="utf-8"))
    base = "https://dailyledger.example/dailyledger"
    return [
        Page(
            key,
            f"{base}/{key.split('/', 1)[1]}",
            (LEDGER.parent / key).read_bytes().replace(b"{{BASE}}", base.encode()),
            item["articleBody"],
        )
        for key, item in sorted(truth.items())
    ]


def trafilatura_alone(page: Page) -> str:
    text = trafilatura.extract(page.html, url=page.url, include_comments=False, include_tables=True)
    return str(text or "")


def rss_ingest_rules(page: Page, rules: RuleSet) -> Article | None:
    response = HttpResponse(page.url, page.url, 200, page.html, "text/html", None)
    try:
        return build_article(FeedEntry(link=page.url), response, rules, datetime.now(UTC))
    except NotAnArticle:
        return None


def with_learned(articles: Sequence[Article | None], thresholds: Thresholds) -> list[str]:
    """Learn each site's boilerplate from all its pages, then remove it, as crawling them would."""
    by_site: dict[str, list[Article]] = {}
    for article in articles:
        if article is not None:
            by_site.setdefault(article.site, []).append(article)
    learned = {}
    for site, site_articles in by_site.items():
        batch = [{fingerprint(p) for p in a.body.split("\n\n")} for a in site_articles]
        total, stats = combined_stats(0, {}, batch)
        learned[site] = learn(total, stats, thresholds)
    return [apply_learned(a, learned[a.site]).body if a else "" for a in articles]


def evaluate(pages: list[Page], rules: RuleSet, pool: Executor) -> dict[str, Scores]:
    """Scores of trafilatura alone and of rss-ingest over the same pages."""
    alone = list(pool.map(trafilatura_alone, pages, chunksize=4))
    ruled = list(pool.map(rss_ingest_rules, pages, [rules] * len(pages), chunksize=4))
    ours = with_learned(ruled, Thresholds())
    return {
        label: scores([page_counts(p.truth, text) for p, text in zip(pages, texts, strict=True)])
        for label, texts in (("trafilatura", alone), ("rss-ingest", ours))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="a folder like ../shared/corpus/aeb-dev")
    args = parser.parse_args()
    corpora: list[tuple[str, list[Page]]] = []
    if args.corpus:
        corpora.append((args.corpus.name, load_corpus(args.corpus)))
    else:
        if DEFAULT_CORPUS.exists():
            corpora.append((DEFAULT_CORPUS.name, load_corpus(DEFAULT_CORPUS)))
        else:
            print(f"({DEFAULT_CORPUS} is absent: skipped)", file=sys.stderr)
        corpora.append(("dailyledger", load_ledger()))
    rules = load_rules(ROOT / "config" / "rules.toml")
    print(f"{'corpus':<14}{'pages':>6}  {'extractor':<12}{'precision':>10}{'recall':>8}{'F1':>8}")
    with ProcessPoolExecutor() as pool:
        for name, pages in corpora:
            for label, result in evaluate(pages, rules, pool).items():
                print(
                    f"{name:<14}{len(pages):>6}  {label:<12}"
                    f"{result.precision:>10.3f}{result.recall:>8.3f}{result.f1:>8.3f}"
                )
    print("published on the whole benchmark (181 pages): trafilatura 2.0 F1 0.958, best 0.970")


if __name__ == "__main__":
    main()
