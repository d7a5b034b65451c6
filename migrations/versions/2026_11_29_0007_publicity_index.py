"""An index on assessment.publicity_id

The review pages list a year's publicity notices with how many assessments each covers
(`publicity_service.publicity_list`): without an index that count read every assessment of every year
(0.35–0.48 s on 300,000 assessments, on every visit). Saves do not pay for it: SQLite and PostgreSQL
touch an index only when its column changes, and publicity_id changes once per assessment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_assessment_publicity_id"


def upgrade() -> None:
    op.create_index(INDEX, "assessment", ["publicity_id"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="assessment")
