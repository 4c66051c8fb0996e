"""`make bench` (near duplicates): precision/recall on labelled real texts, lookup cost vs size.

1. Labelled set. Every article body of ../shared/corpus/aeb-dev with at least 150 words is an
   original. Each gets copies of the kinds a news corpus holds: republished by another site
   (another headline above it, that site's footer below), updated with an added paragraph,
   lightly edited (3% of the words changed), cut to 60% of its length by a syndicator, and cut
   to 40% (the hard case). Negatives: every other original, and pairs of different originals
   carrying one site's long footer (boilerplate the cleaner has not learned yet). Each copy
   and footer-sharing article is decided by the real dedup logic against the indexed originals;
   a link to its own original is a true positive, a link anywhere else a false positive.
2. Lookup cost. A scratch database's near-duplicate index is filled with 10k and then 100k
   originals (a few real, the rest random signatures, as unrelated articles are), and the time
   of the store's lookup and decision for a batch of 100 new articles (the real copies above)
   is measured per article. It must stay flat: the lookup is an index probe per band key.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from bench.export_bench import reset_postgres
from pipeline import neardup
from pipeline.dedup import Candidate, StoredKeys, content_hash, plan_batch
from storage import migrate, near_index
from storage.articles import stored_keys
from storage.database import create_engine
from storage.models import ArticleRow, FeedRow
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "aeb-dev" / "ground-truth.json"
MIN_WORDS = 50
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
SIZES = (1_000, 10_000, 100_000)
FOOTER = (
    "Sign up for our daily newsletter to get the day's top stories, analysis and opinion "
    "delivered to your inbox every morning. Our journalism depends on readers like you: "
    "support independent reporting today and become a member. Follow us on Facebook, Twitter "
    "and Instagram. Copyright 2019. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed without permission. Terms of use apply."
)
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def originals() -> list[str]:
    if not CORPUS.exists():
        sys.exit(f"bench: {CORPUS} not found (the shared corpus sits beside the clone)")
    truth = json.loads(CORPUS.read_text(encoding="utf-8"))
    bodies = [item["articleBody"] for item in truth.values()]
    return [b for b in bodies if len(neardup.words(b)) >= 150]


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def variants(text: str, rng: random.Random) -> dict[str, str]:
    words = text.split()

    def edited(share: float) -> str:
        return " ".join("changed" if rng.random() < share else w for w in words)

    return {
        "republished": "A new headline for the same story\n\n"
        + text
        + "\n\nThis story was first published by a partner site and is republished with "
        "permission. Read more stories like this one on our home page.",
        "updated": "\n\n".join(
            [*paragraphs(text), "Update: officials said on Tuesday that the review continues."]
        ),
        "edited": edited(0.03),
        "cut-60": " ".join(words[: int(len(words) * 0.6)]),
        "cut-40": " ".join(words[: int(len(words) * 0.4)]),
    }


def candidate(name: str, text: str) -> Candidate:
    return Candidate(name, name, None, content_hash(text), neardup.signature(text, MIN_WORDS))


def in_memory_index(signatures: dict[int, bytes]) -> StoredKeys:
    by_band: dict[int, list[int]] = {}
    for article_id, signature in signatures.items():
        for band in neardup.band_keys(signature):
            by_band.setdefault(band, []).append(article_id)
    return StoredKeys(
        by_band={k: tuple(v) for k, v in by_band.items()}, signatures=dict(signatures)
    )


def precision_recall() -> None:
    texts = originals()
    rng = random.Random(4)
    signatures = {i: s for i, t in enumerate(texts) if (s := neardup.signature(t, MIN_WORDS))}
    index = in_memory_index(signatures)
    copies = [(kind, i, v) for i, t in enumerate(texts) for kind, v in variants(t, rng).items()]
    footer_pairs = [(i, texts[i] + "\n\n" + FOOTER) for i in range(len(texts))]
    print(f"near duplicates: {len(texts)} originals (aeb-dev, >= 150 words), {len(copies)} copies")
    print("threshold  precision  recall  F1     recall by kind")
    for threshold in THRESHOLDS:
        true_pos = false_pos = false_neg = 0
        found: Counter[str] = Counter()
        for kind, original, text in copies:
            (decision,) = plan_batch([candidate(f"copy-{kind}-{original}", text)], index, threshold)
            if decision.kind is None:
                false_neg += 1
            elif decision.original_id == original:
                true_pos += 1
                found[kind] += 1
            else:
                false_pos += 1
        # different articles sharing one site's footer, decided against each other
        for decision in plan_batch(
            [candidate(f"footer-{i}", t) for i, t in footer_pairs], StoredKeys(), threshold
        ):
            if decision.kind is not None:
                false_pos += 1
        precision = true_pos / max(1, true_pos + false_pos)
        recall = true_pos / max(1, true_pos + false_neg)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        per_kind = " ".join(
            f"{kind} {found[kind] / len(texts):.2f}" for kind in variants(texts[0], rng)
        )
        print(f"{threshold:<9}  {precision:.3f}      {recall:.3f}   {f1:.3f}  {per_kind}")


async def fill_index(store: Store, size: int, start: int, real: dict[int, bytes]) -> None:
    """Articles start..size-1 in the index, indexed over the last 14 days (inside the window)."""
    rng = np.random.default_rng(size)
    async with store.writing() as session:
        for first in range(start, size, 5_000):
            ids = range(first, min(first + 5_000, size))
            await session.execute(
                insert(ArticleRow),
                [
                    {
                        "id": n + 1,
                        "feed_id": 1,
                        "url": f"https://bench.example/{n}",
                        "source_url": f"https://bench.example/{n}",
                        "fetched_at": NOW - timedelta(minutes=n % 20_000),
                        "body": "",
                        "word_count": 0,
                    }
                    for n in ids
                ],
            )
            signatures = [
                real.get(n) or rng.integers(0, 2**32, neardup.NUM_PERM, dtype=np.uint32).tobytes()
                for n in ids
            ]
            signed = [
                (
                    n + 1,
                    signature,
                    neardup.band_keys(signature),
                    NOW - timedelta(minutes=n % 20_000),
                )
                for n, signature in zip(ids, signatures, strict=True)
            ]
            await near_index.add(session, signed)


async def lookup_cost(database: str, url: str) -> None:
    texts = originals()
    real = {i: s for i, t in enumerate(texts) if (s := neardup.signature(t, MIN_WORDS))}
    rng = random.Random(5)
    batch = [
        candidate(f"https://copy.example/{i}/{kind}", text)
        for i, t in enumerate(texts[:20])
        for kind, text in variants(t, rng).items()
    ]
    with tempfile.TemporaryDirectory() as folder:
        if database == "sqlite":
            url = f"sqlite:///{folder}/bench.db"
        else:
            print(f"(PostgreSQL at {url} is emptied and refilled)", file=sys.stderr)
            await reset_postgres(url)
        engine = create_engine(url)
        await migrate.upgrade(engine)
        store = Store(engine)
        async with store.writing() as session:
            await session.execute(
                insert(FeedRow), [{"url": "https://bench.example/rss", "created_at": NOW}]
            )
        indexed = 0
        print(f"{database}: indexed   lookup+decision per article (ms, median of 9 batches of 100)")
        for size in SIZES:
            began = time.perf_counter()
            await fill_index(store, size, indexed, real)
            indexed = size
            filled = time.perf_counter() - began
            async with engine.begin() as connection:  # the steady state: no fresh WAL, stats
                if database == "sqlite":
                    await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                else:
                    await connection.exec_driver_sql("ANALYZE")
            timings = []
            found = 0
            for _ in range(9):
                async with store.reading() as session:
                    began = time.perf_counter()
                    known = await stored_keys(session, batch, NOW - timedelta(days=14))
                    decisions = plan_batch(batch, known, 0.5)
                    timings.append((time.perf_counter() - began) / len(batch) * 1000)
                found = sum(d.kind == "near" for d in decisions)
            print(
                f"{size:>16,}   {statistics.median(timings):.2f}   near copies found "
                f"{found}/{len(batch)} (index filled in {filled:.0f} s)"
            )
        await engine.dispose()


def timed(label: str, step: Callable[[], object]) -> None:
    began = time.perf_counter()
    step()
    print(f"({label}: {time.perf_counter() - began:.1f} s)\n")


def main() -> None:
    timed("precision/recall", precision_recall)
    timed("lookup cost", lambda: asyncio.run(lookup_cost("sqlite", "")))
    postgres = os.environ.get("RSS_INGEST_BENCH_POSTGRES_URL")
    if postgres:
        timed("lookup cost", lambda: asyncio.run(lookup_cost("postgresql", postgres)))


if __name__ == "__main__":
    main()
