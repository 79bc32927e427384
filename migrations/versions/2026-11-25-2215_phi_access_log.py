"""PHI access log

Revision ID: b1a0c0e5a001
Revises: cff2118037ce
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1a0c0e5a001"
down_revision: str | None = "cff2118037ce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
