"""QA audit program

Revision ID: c2b0d0f6b002
Revises: b1a0c0e5a001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2b0d0f6b002"
down_revision: str | None = "b1a0c0e5a001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
