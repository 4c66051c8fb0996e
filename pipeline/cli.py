"""The `rss-ingest` command line: arguments, then the command's module, imported only when run.

Importing lazily keeps `export` or `feeds list` from loading trafilatura and the process pool.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pipeline import collector, eventloop, malloc, pool
from pipeline.commands import EXIT_INTERRUPTED, EXIT_USAGE
from pipeline.logs import configure_logging
from pipeline.settings import ConfigError, load_settings

if TYPE_CHECKING:
    from pipeline.commands.context import Context


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors in one line on standard error, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


Handler = Callable[["Context"], Coroutine[Any, Any, int]]


def command(target: str) -> Handler:
    """'module:function' in pipeline.commands, imported now."""
    module, function = target.split(":")
    handler: Handler = getattr(importlib.import_module(f"pipeline.commands.{module}"), function)
    return handler


def build_parser() -> argparse.ArgumentParser:
    common = OneLineErrorParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (default config/settings.toml)")
    common.add_argument(
        "--database", help="database URL (default: settings, then data/rss-ingest.db)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")

    parser = OneLineErrorParser(
        prog="rss-ingest", description="Poll news feeds and store clean, deduplicated articles."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)

    crawl = commands.add_parser("crawl", parents=[common], help="poll every feed once")
    crawl.add_argument("--feed", action="append", metavar="URL", help="poll only this feed")
    crawl.set_defaults(handler="polling:crawl_command")

    run = commands.add_parser("run", parents=[common], help="poll feeds when due, until stopped")
    run.add_argument("--feed", action="append", metavar="URL", help="poll only this feed")
    run.set_defaults(handler="polling:run_command")

    status = commands.add_parser(
        "status",
        aliases=["stats"],
        parents=[common],
        help="feeds due, failing, inactive; articles per day",
    )
    status.set_defaults(handler="polling:status_command")

    feeds = commands.add_parser("feeds", help="manage the feed list").add_subparsers(
        dest="feeds_command", required=True
    )
    add = feeds.add_parser("add", parents=[common], help="add a feed")
    add.add_argument("url")
    add.add_argument("--title")
    add.set_defaults(handler="feeds:feeds_add")
    remove = feeds.add_parser("remove", parents=[common], help="stop polling a feed")
    remove.add_argument("url")
    remove.set_defaults(handler="feeds:feeds_remove")
    listing = feeds.add_parser("list", parents=[common], help="list feeds and their state")
    listing.add_argument("--active", action="store_true", help="only the feeds being polled")
    listing.set_defaults(handler="feeds:feeds_list")
    opml_in = feeds.add_parser(
        "import-opml", parents=[common], help="add the feeds of an OPML file"
    )
    opml_in.add_argument("file")
    opml_in.set_defaults(handler="feeds:feeds_import_opml")
    opml_out = feeds.add_parser("export-opml", parents=[common], help="write active feeds as OPML")
    opml_out.add_argument("--output", "-o", help="file to write (default: standard output)")
    opml_out.set_defaults(handler="feeds:feeds_export_opml")

    export = commands.add_parser("export", parents=[common], help="write articles to a file")
    export.add_argument("--format", required=True, help="jsonl, csv or parquet")
    export.add_argument("--output", "-o", default="-", help="file to write, or - (default)")
    export.add_argument("--since", help="published at or after this ISO 8601 date (UTC)")
    export.add_argument("--until", help="published before this ISO 8601 date (UTC)")
    export.add_argument("--feed", action="append", metavar="URL", help="only this feed's articles")
    export.add_argument("--originals-only", action="store_true", help="leave out duplicates")
    export.add_argument(
        "--after-id", type=int, default=0, metavar="N", help="only articles with id > N"
    )
    export.set_defaults(handler="export:export_command")

    reclean = commands.add_parser(
        "reclean", parents=[common], help="re-apply rules and learned boilerplate to stored bodies"
    )
    reclean.add_argument("--site", help="only this site (registered domain, as in articles.site)")
    reclean.set_defaults(handler="cleaning:reclean_command")

    extract = commands.add_parser(
        "extract", parents=[common], help="show the clean body of one page (file or URL)"
    )
    extract.add_argument(
        "source", metavar="FILE_OR_URL", help="an .html or .html.gz file, or a URL"
    )
    extract.add_argument("--url", help="the page's URL, for a file (site rules, canonical URL)")
    extract.add_argument(
        "--json", action="store_true", help="metadata, raw text and why each paragraph was dropped"
    )
    extract.set_defaults(handler="cleaning:extract_command")

    search = commands.add_parser(
        "search", parents=[common], help="full-text search over titles and bodies"
    )
    search.add_argument("terms", nargs="+", help='words (all must occur) and "quoted phrases"')
    search.add_argument("--limit", type=int, default=20, help="at most this many hits (20)")
    search.add_argument("--originals-only", action="store_true", help="leave copies out")
    search.add_argument("--json", action="store_true", help="one JSON object per hit")
    search.set_defaults(handler="searching:search_command")

    dedup = commands.add_parser(
        "dedup", parents=[common], help="duplicate links: counts, or --rebuild them all"
    )
    dedup.add_argument(
        "--rebuild",
        action="store_true",
        help="recompute every duplicate link and the near-duplicate index from stored bodies",
    )
    dedup.set_defaults(handler="duplicates:dedup_command")

    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(
        handler="database:db_upgrade"
    )
    return parser


def uses_pool(args: argparse.Namespace) -> bool:
    """The commands that extract in the process pool."""
    return args.command in ("crawl", "run") or (args.command == "dedup" and args.rebuild)


def main(argv: list[str] | None = None) -> int:
    malloc.limit_arenas()
    args = build_parser().parse_args(argv)
    if uses_pool(args):
        pool.start_fork_server()
    # Imported after the fork server starts: it warms up during this half second of imports.
    from pipeline.commands.context import CommandError, Context
    from storage.database import DatabaseError

    try:
        loaded = load_settings(args.config)
        settings = loaded.settings
        # One-off commands print their own results; the daemon's log is its output.
        level = settings.log_level if args.command == "run" else "WARNING"
        configure_logging("DEBUG" if args.verbose else level, settings.log_format)
        handler = command(args.handler)
        if uses_pool(args):  # they run for minutes, or for good
            collector.collect_less()
        return eventloop.run(handler(Context(loaded, args)))
    except (ConfigError, DatabaseError, CommandError) as error:
        print(f"rss-ingest: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("rss-ingest: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
