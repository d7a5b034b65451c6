"""PostgreSQL-only text_pattern_ops indexes so `region_path LIKE '/99/9901/%'` uses an index

Under a non-C collation (the cluster here is C.UTF-8) a plain btree index cannot serve LIKE prefix
searches, and every scope filter in the product is one. SQLite's LIKE optimisation needs no extra
index. These indexes are named `*_pattern` and excluded from the model/migration comparison
(see migrations/env.py `include_object`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 07:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_region_path_pattern": "region (path text_pattern_ops)",
    "ix_branch_region_path_pattern": "branch (region_path text_pattern_ops, sector)",
    "ix_assessment_year_region_path_pattern": "assessment (year, region_path text_pattern_ops, sector, total)",
    "ix_weak_listing_region_path_pattern": "weak_listing (region_path text_pattern_ops)",
    "ix_demo_site_region_path_pattern": "demo_site (region_path text_pattern_ops)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
