"""The evaluation metric, and the promise it checks: never below trafilatura alone."""

import gzip
import json
from concurrent.futures import Executor
from pathlib import Path

import pytest

from bench.evaluate import (
    DEFAULT_CORPUS,
    evaluate,
    load_corpus,
    load_ledger,
    page_counts,
    scores,
)
from pipeline.rules import RuleSet


def test_page_counts_over_four_word_shingles() -> None:
    text = "one two three four five six"
    assert page_counts(text, text) == (1.0, 0.0, 0.0)
    tp, fp, fn = page_counts(text, "one two three four five six seven eight")
    assert (tp, fp, fn) == pytest.approx((3 / 5, 2 / 5, 0.0))
    assert page_counts(text, "") == (0.0, 0.0, 1.0)


def test_scores_are_means_over_pages() -> None:
    result = scores([(1.0, 0.0, 0.0), (0.5, 0.5, 0.0)])
    assert (result.precision, result.recall) == (0.75, 1.0)
    assert result.f1 == pytest.approx(2 * 0.75 / 1.75)


def test_load_corpus_reads_gzipped_and_plain_pages(tmp_path: Path) -> None:
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "a.html.gz").write_bytes(gzip.compress(b"<p>x</p>"))
    (tmp_path / "html" / "b.html").write_bytes(b"<p>y</p>")
    truth = {k: {"url": f"https://s/{k}", "articleBody": k} for k in ("a", "b")}
    (tmp_path / "ground-truth.json").write_text(json.dumps(truth))
    assert [(p.key, p.html) for p in load_corpus(tmp_path)] == [
        ("a", b"<p>x</p>"),
        ("b", b"<p>y</p>"),
    ]


def test_rss_ingest_beats_trafilatura_where_a_site_repeats_boilerplate(
    rules: RuleSet, pool: Executor
) -> None:
    result = evaluate(load_ledger(), rules, pool)
    assert result["rss-ingest"].f1 > result["trafilatura"].f1
    assert result["rss-ingest"].recall >= 0.99


@pytest.mark.skipif(not DEFAULT_CORPUS.exists(), reason="../shared/corpus/aeb-dev is absent")
def test_rss_ingest_is_never_below_trafilatura_on_the_benchmark_pages(
    rules: RuleSet, pool: Executor
) -> None:
    result = evaluate(load_corpus(DEFAULT_CORPUS), rules, pool)
    assert result["rss-ingest"].f1 >= result["trafilatura"].f1
    assert result["rss-ingest"].f1 >= 0.96
