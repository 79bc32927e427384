"""claims remittances denials appeals

Revision ID: d3c0e0a7c003
Revises: c2b0d0f6b002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3c0e0a7c003"
down_revision: str | None = "c2b0d0f6b002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
