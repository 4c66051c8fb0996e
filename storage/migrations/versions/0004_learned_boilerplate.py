"""articles.raw_body and articles.site; sites and site_paragraphs for learned boilerplate

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite >= 3.35), not a batch rebuild: views over articles stay valid.
    op.add_column("articles", sa.Column("raw_body", sa.Text(), nullable=True))
    op.add_column("articles", sa.Column("site", sa.Text(), nullable=True))
    op.create_index(op.f("ix_articles_site"), "articles", ["site"])
    # originals is SELECT *: rebuild it so that it shows the new columns
    op.execute("DROP VIEW originals")
    op.execute("CREATE VIEW originals AS SELECT * FROM articles WHERE duplicate_of IS NULL")
    op.create_table(
        "sites",
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("article_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_sites")),
    )
    op.create_table(
        "site_paragraphs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("sample", sa.Text(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("site_articles_at_first_seen", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_paragraphs")),
        sa.UniqueConstraint(
            "site", "fingerprint", name=op.f("uq_site_paragraphs_site_fingerprint")
        ),
    )


def downgrade() -> None:
    op.drop_table("site_paragraphs")
    op.drop_table("sites")
    op.execute("DROP VIEW originals")
    op.drop_index(op.f("ix_articles_site"), table_name="articles")
    op.drop_column("articles", "site")
    op.drop_column("articles", "raw_body")
    op.execute("CREATE VIEW originals AS SELECT * FROM articles WHERE duplicate_of IS NULL")
