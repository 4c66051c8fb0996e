"""feeds.next_poll_at and feeds.poll_interval_seconds: the daemon's schedule

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as feeds:
        feeds.add_column(sa.Column("next_poll_at", UTCDateTime(), nullable=True))
        feeds.add_column(sa.Column("poll_interval_seconds", sa.Integer(), nullable=True))
        feeds.create_index(op.f("ix_feeds_next_poll_at"), ["next_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("feeds") as feeds:
        feeds.drop_index(op.f("ix_feeds_next_poll_at"))
        feeds.drop_column("poll_interval_seconds")
        feeds.drop_column("next_poll_at")
