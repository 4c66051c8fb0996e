"""feed leases: several workers share one database and split the due feeds

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch rebuild: the FTS triggers and the views stay as they are.
    op.add_column("feeds", sa.Column("lease_owner", sa.Text(), nullable=True))
    op.add_column("feeds", sa.Column("lease_expires_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("feeds", "lease_expires_at")
    op.drop_column("feeds", "lease_owner")
