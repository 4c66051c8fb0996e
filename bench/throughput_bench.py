"""`make bench` (throughput): the whole pipeline against a local corpus server, and its ceiling.

For 1k and 10k feeds (10 feeds per site, each site on its own loopback address, 2 articles per
feed, 20-120 ms per answer), the real `rss-ingest crawl` runs in a child process: `--repeat`
times from scratch (each into an empty database), then again when every feed answers 304.
Printed per scale:
- articles/s end to end: articles fetched and processed / the crawl's own seconds;
- the 2-core ceiling, measured just before and just after each crawl: the same pages through
  extraction, cleaning and signing alone in the same process pool, nothing else running; and
  the ratio of the two, for each crawl, then their median (this machine's speed drifts by
  several percent within minutes, so one crawl's ratio moves by as much);
- CPU ms per feed on the 304 cycle: a 304 crawl's CPU (user + system, pool included) minus
  that of a run of the same command with no feeds just before it (interpreter start, imports,
  the pool's fork server), over the feeds; the median of five such pairs, and all five;
- CPU of the median crawl, the crawl process (fetching, dedup, storing) apart from its pool,
  and what the corpus server spent answering it (it shares the two cores; remote sites
  would not);
- peak RSS of the crawl process and of a pool worker (VmHWM, sampled from /proc), the most
  of all crawls;
- event-loop lag during the median crawl, as the crawl reports it.

    python -m bench.throughput_bench [--feeds 1000 10000] [--repeat 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.corpus_pages import corpus_pages, extract_and_finish, write_variants
from bench.export_bench import reset_postgres
from bench.processes import (
    become_subreaper,
    children,
    cpu_seconds,
    current_children,
    peak_rss_mb,
    reap_orphans,
)
from pipeline.pool import ExtractionPool
from pipeline.rules import load_rules
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "config" / "rules.toml"
FEEDS_PER_SITE = 10
ITEMS_PER_FEED = 2
PAIRS = 5  # 304 cycle: pairs of (start-up alone, 304 crawl); the median pair counts
CEILING_PAGES = 2000  # the first variants, as many as the 1k-feed crawl fetches
SUMMARY = re.compile(
    r"feeds: (\d+) polled, (\d+) failed, (\d+) unchanged \| articles: (\d+) new, (\d+) duplicate, "
    r"(\d+) failed, (\d+) already stored \| ([\d.]+) s"
)
LAG = re.compile(r"median ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms")


@dataclass(frozen=True, slots=True)
class Run:
    """One `rss-ingest crawl` child process, as the kernel and its output tell it."""

    stdout: str
    stderr: str
    cpu_seconds: float
    """The whole run's CPU, pool included (the kernel's account at exit of each process)."""
    crawl_process_cpu_seconds: float
    """The crawl process alone (its last /proc sample: up to 0.2 s short)."""
    peak_rss_mb: float
    worker_peak_rss_mb: float

    def summary(self) -> re.Match[str]:
        found = SUMMARY.search(self.stdout)
        if found is None:
            raise SystemExit(f"the crawl printed no summary:\n{self.stdout}\n{self.stderr}")
        return found


def run_crawl(config: Path, scratch: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSS_INGEST_")}
    out_path, err_path = scratch / "crawl.out", scratch / "crawl.err"
    known = set(children(os.getpid()))
    with out_path.open("w") as out, err_path.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "crawl", "--config", str(config)],
            stdout=out,
            stderr=err,
            env=env,
            cwd=scratch,
        )
    peak, worker_peak, own_cpu = 0.0, 0.0, 0.0
    while True:
        peak = max(peak, peak_rss_mb(child.pid))
        own_cpu = max(own_cpu, cpu_seconds(child.pid))
        # The pool's processes: a fork server and its workers, or spawned workers.
        for pool_process in current_children(child.pid):
            for worker in current_children(pool_process) or [pool_process]:
                worker_peak = max(worker_peak, peak_rss_mb(worker))
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.2)
    orphans_cpu = reap_orphans(known | {child.pid})
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"crawl failed:\n{err_path.read_text()}")
    return Run(
        out_path.read_text(),
        err_path.read_text(),
        usage.ru_utime + usage.ru_stime + orphans_cpu,
        own_cpu,
        peak,
        worker_peak,
    )


def write_config(folder: Path, database_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "settings.toml"
    # Politeness delays protect remote hosts; here every host is this bench's own server.
    config.write_text(
        f'database_url = "{database_url}"\nfeeds_file = "feeds.toml"\n'
        f'rules_file = "{RULES}"\nper_host_delay = 0.0\nallow_private_addresses = true\n'
    )
    return config


def ceiling(pages: Path, count: int) -> float:
    """Pages per second through extraction + cleaning + signing alone, in the crawl's pool."""
    rules = load_rules(RULES)
    min_words = Settings().near_duplicate_min_words
    bodies = [gzip.decompress((pages / f"{k}.html.gz").read_bytes()) for k in range(count)]
    urls = [f"http://127.0.0.2/articles/{k}.html" for k in range(count)]
    with ExtractionPool(0) as pool:
        list(pool.map(extract_and_finish, bodies[:8], urls[:8], [rules] * 8, [min_words] * 8))
        began = time.perf_counter()
        futures = [
            pool.submit(extract_and_finish, body, url, rules, min_words)
            for body, url in zip(bodies, urls, strict=True)
        ]
        for future in futures:
            future.result()
        return count / (time.perf_counter() - began)


def start_server(pages: Path, feeds: int, port: int, feeds_file: Path) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.corpus_server",
            f"--pages={pages}",
            f"--sites={max(feeds // FEEDS_PER_SITE, 1)}",
            f"--feeds={feeds}",
            f"--items={ITEMS_PER_FEED}",
            f"--port={port}",
            f"--feeds-file={feeds_file}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        raise SystemExit("the corpus server did not start")
    return server


def bench_scale(
    feeds: int,
    pages: Path,
    fresh_database: Callable[[int], str],
    scratch: Path,
    measure_ceiling: Callable[[], float],
    repeat: int,
) -> None:
    """fresh_database(run): the URL of an empty database for that run."""
    folder = scratch / f"feeds-{feeds}"
    folder.mkdir(parents=True)
    server = start_server(pages, feeds, free_port(), folder / "feeds.toml")
    # each crawl, with the mean of the ceilings around it and the CPU the server spent on it
    crawls: list[tuple[Run, float, float]] = []
    try:
        before = measure_ceiling()
        for run in range(repeat):
            config = write_config(folder, fresh_database(run))
            serving = cpu_seconds(server.pid)
            crawl = run_crawl(config, folder)
            serving = cpu_seconds(server.pid) - serving
            after = measure_ceiling()
            crawls.append((crawl, (before + after) / 2, serving))
            before = after
        # The 304 cycle's CPU less the start-up's, each 304 crawl just after a run of the same
        # command with no feeds: this machine's speed drifts by several per cent within
        # minutes, and a pair drifts together (the least of three start-up runs, taken apart
        # from the 304 crawls, once read 2.35 s at 1k feeds and 2.06 s at 10k).
        baseline_config = write_config(scratch / "baseline", _baseline_url(scratch))
        run_crawl(baseline_config, scratch)  # creates the tables, as the 304 cycle does not
        pairs = []
        for _ in range(PAIRS):
            start_up = run_crawl(baseline_config, scratch)
            pairs.append((run_crawl(config, folder), start_up))
    finally:
        server.kill()
        server.wait()
    ratios, articles = [], []
    for number, (crawl, rate, _) in enumerate(crawls, 1):
        crawled = crawl.summary()
        processed = sum(int(crawled.group(n)) for n in (4, 5, 6))
        seconds = float(crawled.group(8))
        ratios.append(processed / seconds / rate)
        articles.append(processed)
        print(
            f"{feeds:>6} feeds | crawl {number} of {repeat}: {processed} articles "
            f"({crawled.group(4)} new, {crawled.group(5)} duplicate, {crawled.group(6)} failed) "
            f"in {seconds:.1f} s: {processed / seconds:.1f}/s end to end, ceiling {rate:.1f}/s "
            f"(mean of before and after), ratio {ratios[-1]:.1%}",
            flush=True,
        )
    median = sorted(range(repeat), key=lambda n: ratios[n])[repeat // 2]
    (first, _, serving), processed = crawls[median], articles[median]
    if repeat > 1:
        print(
            f"       ratio, median of {repeat} crawls: {ratios[median]:.1%} "
            f"(crawl {median + 1}; all: {', '.join(f'{r:.1%}' for r in ratios)})"
        )
    for recrawl, _ in pairs:
        if int(recrawl.summary().group(3)) != feeds:
            raise SystemExit(f"304 cycle: not every feed answered 304:\n{recrawl.stdout}")
    pairs.sort(key=lambda pair: pair[0].cpu_seconds - pair[1].cpu_seconds)
    second, baseline = pairs[PAIRS // 2]
    recrawled = second.summary()
    per_feed = [(r.cpu_seconds - b.cpu_seconds) * 1000 / feeds for r, b in pairs]
    lag = LAG.search(first.stderr)
    pool_cpu = first.cpu_seconds - first.crawl_process_cpu_seconds
    print(
        f"       CPU (crawl {median + 1}): crawl process {first.crawl_process_cpu_seconds:.1f} s "
        f"({first.crawl_process_cpu_seconds * 1000 / processed:.1f} ms per article, start-up "
        f"included), pool workers {pool_cpu:.1f} s ({pool_cpu * 1000 / processed:.1f} ms); "
        f"the corpus server, on the same cores, {serving:.1f} s"
    )
    print(
        f"       304 cycle: {float(recrawled.group(8)):.1f} s, "
        f"{second.cpu_seconds:.2f} s CPU - {baseline.cpu_seconds:.2f} s start-up = "
        f"{per_feed[PAIRS // 2]:.2f} ms CPU per feed (the median of {PAIRS} pairs; all "
        f"{', '.join(f'{ms:.2f}' for ms in per_feed)})"
    )
    recrawls = [recrawl for recrawl, _ in pairs]
    peak = max(run.peak_rss_mb for run in [*recrawls, *(crawl for crawl, _, _ in crawls)])
    worker_peak = max(crawl.worker_peak_rss_mb for crawl, _, _ in crawls)
    print(
        f"       peak RSS: crawl process {peak:.0f} MB, pool worker {worker_peak:.0f} MB | "
        f"event loop lag (crawl {median + 1}): "
        + (
            f"median {lag.group(1)} ms, p99 {lag.group(2)} ms, max {lag.group(3)} ms"
            if lag
            else "?"
        ),
        flush=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fresh_database(given: str | None, scratch: Path, feeds: int, run: int) -> str:
    if given is None:
        return f"sqlite:///{scratch / f'bench-{feeds}-{run}.db'}"
    asyncio.run(reset_postgres(given))  # PostgreSQL: main() refuses any other URL
    return given


def _baseline_url(scratch: Path) -> str:
    (scratch / "baseline").mkdir(exist_ok=True)
    (scratch / "baseline" / "feeds.toml").write_text("")
    return f"sqlite:///{scratch / 'baseline' / 'empty.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument(
        "--repeat", type=int, default=3, help="crawls from scratch per scale (default 3)"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL URL, emptied before each crawl (default: SQLite)"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.database_url:
        if not args.database_url.startswith("postgresql"):
            parser.error("--database-url: PostgreSQL only (SQLite crawls use scratch files)")
        print(f"(PostgreSQL at {args.database_url} is emptied)", file=sys.stderr)
    become_subreaper()
    origin, corpus = corpus_pages()
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        pages = scratch / "pages"
        # Every article its own page: a crawl of distinct stories, as 10k real feeds give.
        most = max(args.feeds) * ITEMS_PER_FEED
        began = time.perf_counter()
        with ProcessPoolExecutor() as executor:
            write_variants(most, pages, executor)
        seconds = time.perf_counter() - began
        print(f"{most} page variants of {len(corpus)} pages from {origin} in {seconds:.0f} s")
        count = min(most, CEILING_PAGES)
        for feeds in args.feeds:
            # This machine's speed drifts by several percent over minutes: the ceiling is taken
            # just before and just after each crawl, and their mean is what the crawl is held to.
            bench_scale(
                feeds,
                pages,
                partial(_fresh_database, args.database_url, scratch, feeds),
                scratch,
                partial(ceiling, pages, count),
                args.repeat,
            )


if __name__ == "__main__":
    main()
