"""Each assessment's entries as stored JSON text per source, for the NDJSON export

`assessment.inspector_entries_json` / `self_entries_json`: the JSON array text of a source's entries as
the export writes them (app.assessments.entries_json). From now on they are written with the entries
(app.assessments.scoring); the upgrade fills them for the existing rows, one UPDATE per source, with the
export's own database-side builder. NULL stays a valid value (the export then builds the text itself),
so the backfill is not needed for correctness, only for speed; it is done here so that an upgraded
database is as fast as a new one without a separate step nobody remembers. Measured on SQLite: 30,000
assessments with 0.9 M entries in 6 s (2 loaded cores), so about a minute for a 100,000-branch province's
300,000 assessments.

The builder is imported from app.api.ndjson, not copied: it is the definition of the text, and a copy
could silently disagree with it. It only reads columns that exist since migration 0001; a later change
that makes it read a newer column must freeze the SQL it emits here (the migration test would fail on
a fresh database).

The columns are added in place (SQLite ALTER TABLE ADD/DROP COLUMN): recreating `assessment` would drop
the tally triggers of migration 0004.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.api import ndjson

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("inspector_entries_json", "self_entries_json")


def upgrade() -> None:
    with op.batch_alter_table("assessment", schema=None, recreate="never") as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
    ndjson.store_built_entries(op.get_bind())


def downgrade() -> None:
    for name in COLUMNS:
        op.execute(f"ALTER TABLE assessment DROP COLUMN {name}")
