"""The commands of `rss-ingest`, one module per group; cli.py imports each only when run."""

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
