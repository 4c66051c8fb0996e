"""The commands of `rss-ingest`, one module per group; cli.py imports each only when run."""
