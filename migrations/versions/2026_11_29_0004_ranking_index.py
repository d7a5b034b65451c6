"""Rankings at province scale: covering indexes and a trigger-maintained tally of ranked assessments

`app.rankings.service.rank` reads a page of a ranking in index order (year, total) and stops after the
page; it counts the rows above the page through the same index. The region index gains `status` so that
counting a county's ranked rows never reads the table. `assessment_tally` holds how many assessments
with a total each (year, region prefix, sector, status) has, so the size of a province's ranking is a
sum over a few thousand rows instead of a count over 100,000. Triggers keep it exact in the writing
transaction (SQLite and PostgreSQL); the upgrade fills it from the existing rows.

The prefix is the region path cut to its first 3 codes ('/98/9801/980102/980102001/' → '/98/9801/980102/';
shorter paths are kept whole). On PostgreSQL the `assessment_year_region_path_pattern` index of 0003 gains
`status` too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_REGION_INDEX = ("ix_assessment_year_region_path_sector_total", ["year", "region_path", "sector", "total"])
REGION_INDEX = ("ix_assessment_year_region_path_sector_total_status", [*OLD_REGION_INDEX[1], "status"])
TOTAL_INDEX = ("ix_assessment_year_total_region_path_sector_status", ["year", "total", "region_path", "sector", "status"])
PATTERN = "ix_assessment_year_region_path_pattern"
KEY = "year, prefix, sector, status"
# Triggers fire only when what the tally counts by changes (a save that changes a total does not).
CHANGED = (
    "OLD.year IS DISTINCT FROM NEW.year OR OLD.region_path IS DISTINCT FROM NEW.region_path"
    " OR OLD.sector IS DISTINCT FROM NEW.sector OR OLD.status IS DISTINCT FROM NEW.status"
    " OR (OLD.total IS NULL) <> (NEW.total IS NULL)"
)


def sqlite_prefix(path: str) -> str:
    """SQLite expression: `path` cut after its third code (SQLite has no split; instr finds the next '/')."""
    s1 = f"substr({path}, 2)"
    i1 = f"instr({s1}, '/')"
    s2 = f"substr({s1}, {i1} + 1)"
    i2 = f"instr({s2}, '/')"
    s3 = f"substr({s2}, {i2} + 1)"
    i3 = f"instr({s3}, '/')"
    return f"substr({path}, 1, 1 + {i1} + {i2} + {i3})"


def pg_prefix(path: str) -> str:
    return f"substring({path} from '^(/[^/]+/(?:[^/]+/)?(?:[^/]+/)?)')"


def _sqlite_triggers() -> list[str]:
    old, new = sqlite_prefix("OLD.region_path"), sqlite_prefix("NEW.region_path")
    add = (
        f"INSERT INTO assessment_tally ({KEY}, n) SELECT NEW.year, {new}, NEW.sector, NEW.status, 1 "
        f"WHERE NEW.total IS NOT NULL ON CONFLICT ({KEY}) DO UPDATE SET n = n + 1;"
    )
    remove = (
        f"UPDATE assessment_tally SET n = n - 1 WHERE OLD.total IS NOT NULL AND year = OLD.year "
        f"AND prefix = {old} AND sector = OLD.sector AND status = OLD.status;"
    )
    changed = CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    return [
        f"CREATE TRIGGER assessment_tally_insert AFTER INSERT ON assessment BEGIN {add} END",
        f"CREATE TRIGGER assessment_tally_delete AFTER DELETE ON assessment BEGIN {remove} END",
        "CREATE TRIGGER assessment_tally_update AFTER UPDATE OF year, region_path, sector, status, total "
        f"ON assessment WHEN {changed} BEGIN {remove} {add} END",
    ]


def _pg_statements() -> list[str]:
    old, new = pg_prefix("OLD.region_path"), pg_prefix("NEW.region_path")
    function = f"""
CREATE FUNCTION assessment_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.total IS NOT NULL THEN
        UPDATE assessment_tally SET n = n - 1
        WHERE year = OLD.year AND prefix = {old} AND sector = OLD.sector AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.total IS NOT NULL THEN
        INSERT INTO assessment_tally ({KEY}, n) VALUES (NEW.year, {new}, NEW.sector, NEW.status, 1)
        ON CONFLICT ({KEY}) DO UPDATE SET n = assessment_tally.n + 1;
    END IF;
    RETURN NULL;
END
$$"""
    return [
        function,
        "CREATE TRIGGER assessment_tally_insert_delete AFTER INSERT OR DELETE ON assessment "
        "FOR EACH ROW EXECUTE FUNCTION assessment_tally_apply()",
        "CREATE TRIGGER assessment_tally_update AFTER UPDATE OF year, region_path, sector, status, total "
        f"ON assessment FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION assessment_tally_apply()",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(OLD_REGION_INDEX[0]))
        batch_op.create_index(batch_op.f(REGION_INDEX[0]), REGION_INDEX[1], unique=False)
        batch_op.create_index(batch_op.f(TOTAL_INDEX[0]), TOTAL_INDEX[1], unique=False)
    op.create_table(
        "assessment_tally",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=255), nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", "prefix", "sector", "status", name=op.f("pk_assessment_tally")),
    )
    prefix = pg_prefix("region_path") if dialect == "postgresql" else sqlite_prefix("region_path")
    op.execute(
        f"INSERT INTO assessment_tally ({KEY}, n) SELECT year, {prefix}, sector, status, count(*) "
        "FROM assessment WHERE total IS NOT NULL GROUP BY 1, 2, 3, 4"
    )
    if dialect == "postgresql":
        for statement in _pg_statements():
            op.execute(statement)
        op.execute(f"DROP INDEX {PATTERN}")
        op.execute(f"CREATE INDEX {PATTERN} ON assessment (year, region_path text_pattern_ops, sector, total, status)")
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS assessment_tally_insert_delete ON assessment")
        op.execute("DROP TRIGGER IF EXISTS assessment_tally_update ON assessment")
        op.execute("DROP FUNCTION IF EXISTS assessment_tally_apply()")
        op.execute(f"DROP INDEX {PATTERN}")
        op.execute(f"CREATE INDEX {PATTERN} ON assessment (year, region_path text_pattern_ops, sector, total)")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS assessment_tally_{name}")
    op.drop_table("assessment_tally")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(TOTAL_INDEX[0]))
        batch_op.drop_index(batch_op.f(REGION_INDEX[0]))
        batch_op.create_index(batch_op.f(OLD_REGION_INDEX[0]), OLD_REGION_INDEX[1], unique=False)
