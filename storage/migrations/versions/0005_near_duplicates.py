"""near duplicates: url keys, similarity, one original per URL, the near-duplicate index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

articles.url stops being unique on its own: a copy of an article seen in another feed is a row
of that feed with the same URL. What stays unique: (feed_id, url), and url among originals.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

from pipeline.urls import url_key
from storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VIEWS = importlib.import_module("storage.migrations.versions.0003_analysis_views")
BATCH = 1000


def _drop_views() -> None:
    for view in ("daily_counts", "feed_status", "originals"):
        op.execute(f"DROP VIEW IF EXISTS {view}")


def _fill_url_keys() -> None:
    connection = op.get_bind()
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer),
        sa.column("url", sa.Text),
        sa.column("source_url", sa.Text),
        sa.column("url_key", sa.Text),
        sa.column("source_url_key", sa.Text),
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(articles.c.id, articles.c.url, articles.c.source_url)
            .where(articles.c.id > last_id)
            .order_by(articles.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for article_id, url, source_url in rows:
            connection.execute(
                articles.update()
                .where(articles.c.id == article_id)
                .values(url_key=url_key(url), source_url_key=url_key(source_url))
            )
        last_id = rows[-1][0]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _drop_views()  # SQLite refuses to rename a table under views that name it
    with op.batch_alter_table("articles", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("uq_articles_url"), type_="unique")
        batch.add_column(sa.Column("url_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_url_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("similarity", sa.Float(), nullable=True))
        batch.create_unique_constraint(op.f("uq_articles_feed_id_url"), ["feed_id", "url"])
    _fill_url_keys()
    op.create_index(
        "uq_articles_original_url",
        "articles",
        ["url"],
        unique=True,
        sqlite_where=sa.text("duplicate_of IS NULL"),
        postgresql_where=sa.text("duplicate_of IS NULL"),
    )
    op.create_index(op.f("ix_articles_url"), "articles", ["url"])
    op.create_index(op.f("ix_articles_url_key"), "articles", ["url_key"])
    op.create_index(op.f("ix_articles_source_url_key"), "articles", ["source_url_key"])
    VIEWS.upgrade()
    op.create_table(
        "near_duplicate_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("indexed_at", UTCDateTime(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_near_duplicate_signatures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_near_duplicate_signatures")),
    )
    op.create_index(
        op.f("ix_near_duplicate_signatures_indexed_at"),
        "near_duplicate_signatures",
        ["indexed_at"],
    )
    op.create_table(
        "near_duplicate_bands",
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("indexed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_near_duplicate_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band_key", "article_id", name=op.f("pk_near_duplicate_bands")),
    )
    op.create_index(
        op.f("ix_near_duplicate_bands_indexed_at"), "near_duplicate_bands", ["indexed_at"]
    )


def downgrade() -> None:
    """Back to one row per URL: copies that share a URL with another row are deleted."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_table("near_duplicate_bands")
    op.drop_table("near_duplicate_signatures")
    _drop_views()
    op.execute(
        "DELETE FROM articles WHERE duplicate_of IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM articles o WHERE o.url = articles.url AND o.id < articles.id)"
    )
    for index in ("source_url_key", "url_key", "url"):
        op.drop_index(op.f(f"ix_articles_{index}"), table_name="articles")
    op.drop_index("uq_articles_original_url", table_name="articles")
    with op.batch_alter_table("articles", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("uq_articles_feed_id_url"), type_="unique")
        batch.drop_column("similarity")
        batch.drop_column("source_url_key")
        batch.drop_column("url_key")
        batch.create_unique_constraint(op.f("uq_articles_url"), ["url"])
    VIEWS.upgrade()
