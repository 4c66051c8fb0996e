"""views for analysts: originals, feed_status, daily_counts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Day boundaries and "now" are UTC on both databases.
DIALECT_SQL = {
    "sqlite": {
        "day": "date(coalesce(published_at, fetched_at))",
        "week_ago": "datetime('now', '-7 days')",
    },
    "postgresql": {
        "day": "(coalesce(published_at, fetched_at) at time zone 'UTC')::date",
        "week_ago": "now() - interval '7 days'",
    },
}


def upgrade() -> None:
    sql = DIALECT_SQL[op.get_bind().dialect.name]
    op.execute("CREATE VIEW originals AS SELECT * FROM articles WHERE duplicate_of IS NULL")
    op.execute(
        f"""
        CREATE VIEW feed_status AS
        SELECT f.id, f.url, f.title, f.active, f.inactive_reason, f.last_polled_at,
               f.last_status, f.error_count, f.last_error, f.next_poll_at,
               (SELECT count(*) FROM articles a
                 WHERE a.feed_id = f.id AND a.fetched_at >= {sql["week_ago"]})
                 AS articles_last_7_days
        FROM feeds f
        """
    )
    op.execute(
        f"""
        CREATE VIEW daily_counts AS
        SELECT {sql["day"]} AS day, feed_id,
               count(*) AS articles,
               sum(CASE WHEN duplicate_of IS NULL THEN 1 ELSE 0 END) AS originals
        FROM articles
        GROUP BY {sql["day"]}, feed_id
        """
    )


def downgrade() -> None:
    for view in ("daily_counts", "feed_status", "originals"):
        op.execute(f"DROP VIEW IF EXISTS {view}")
