"""Test data for the API: criteria sets, assessments and entries created directly through the models.

The demo seed has regions and branches only; each test module uses its own years (2090+) so that the
shared, committed test database never mixes its rows with another module's.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.assessments.models import Assessment, ScoreEntry
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.db_types import utcnow
from app.regions.models import Region

DOCUMENT: dict[str, Any] = {
    "title": "测试细则",
    "categories": [
        {"code": "A", "name": "组织建设", "items": [{"code": "A1", "name": "三会一课", "max": "50"}]},
        {"code": "B", "name": "作用发挥", "items": [{"code": "B1", "name": "为民服务", "max": "50"}]},
    ],
    "bands": [{"stars": 5, "min": "90"}, {"stars": 4, "min": "80"}],
}


def region(session: Session, code: str) -> Region:
    found = session.exec(select(Region).where(Region.code == code)).first()
    assert found is not None, code
    return found


def branches_in(
    session: Session, region_code: str, *, sector: str | None = None, n: int | None = None
) -> list[Branch]:
    """Active branches under a region, by code."""
    path = region(session, region_code).path
    stmt = select(Branch).where(col(Branch.region_path).startswith(path), Branch.status == "active")
    if sector:
        stmt = stmt.where(Branch.sector == sector)
    rows = list(session.exec(stmt.order_by(col(Branch.code))))
    return rows[:n] if n is not None else rows


def criteria_set(
    session: Session,
    *,
    year: int,
    sector: str = "rural",
    region_code: str = "9901",
    status: str = "published",
    revision: int = 1,
    title: str | None = None,
    document: dict[str, Any] | None = None,
) -> CriteriaSetRecord:
    # A valid document for this year and sector: published sets are always valid in the product.
    doc = {**(document or DOCUMENT), "year": year, "sector": sector}
    content_hash = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    row = CriteriaSetRecord(
        year=year,
        sector=sector,
        region_id=region(session, region_code).id or 0,
        title=title or f"{year}年度{sector}党支部星级评定细则",
        revision=revision,
        status=status,
        document=doc,
        content_hash=content_hash if status != "draft" else None,
        issuing_body="星城市委组织部",
        document_number=f"星组发〔{year}〕1号",
        published_at=utcnow() if status != "draft" else None,
    )
    session.add(row)
    session.flush()
    return row


def assessment(
    session: Session,
    *,
    branch: Branch,
    cs: CriteriaSetRecord,
    year: int | None = None,
    status: str = "scoring",
    total: str | Decimal | None = "85.50",
    stars: int | None = 4,
    final_stars: int | None = None,
    entries: int = 2,
    updated_at: datetime | None = None,
) -> Assessment:
    """An assessment of one branch, with `entries` inspector entries and a short explanation."""
    value = Decimal(total) if total is not None else None
    row = Assessment(
        branch_id=branch.id or 0,
        year=year or cs.year,
        sector=branch.sector,
        region_path=branch.region_path,
        criteria_set_id=cs.id or 0,
        criteria_hash=cs.content_hash or "",
        status=status,
        self_total=value,
        total=value,
        band_stars=stars,
        stars=stars,
        final_stars=final_stars if final_stars is not None else (stars if status == "final" else None),
        items_scored=entries,
        items_total=max(entries, 2),
        extras={"vetoes": []},
        explanation=[
            {"kind": "item", "code": "A1", "text": "A1 三会一课：得 8 分（满分 10 分）", "value": "8"},
            {"kind": "total", "code": None, "text": f"总分 {value}", "value": str(value) if value else None},
        ],
        finalized_at=utcnow() if status == "final" else None,
    )
    if updated_at is not None:
        row.updated_at = updated_at
    session.add(row)
    session.flush()
    for i in range(entries):
        session.add(
            ScoreEntry(
                assessment_id=row.id or 0,
                source="inspector",
                item_code=f"A{i + 1}",
                entry={"points": "8.5"},
                score=Decimal("8.5"),
                note="现场查阅台账",
            )
        )
    session.flush()
    return row
