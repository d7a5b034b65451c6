"""Read services behind /api/v1: scoped, keyset-paged queries and their public shapes.

Sync lists are ordered by (updated_at, id) and paged by a cursor holding the last row's (updated_at, id),
so a row inserted or updated during paging moves to the end of the order instead of shifting pages.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.api import cursor as cursors
from app.api.params import BranchQuery, CriteriaSetQuery, RankingQuery, RegionQuery
from app.api.queries import NOT_FOUND, Places, after, count, path_codes, region_filter_path, split
from app.api.schemas import (
    BranchOut,
    BranchPage,
    CriteriaSetDetail,
    CriteriaSetOut,
    CriteriaSetPage,
    RegionOut,
    RegionPage,
    money_text,
)
from app.auth.scope import Scope
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.errors import NotFound
from app.rankings import service as rankings_service
from app.regions.models import Region
from app.regions.paths import in_subtree

VISIBLE_CRITERIA_STATUSES = ("published", "archived")


# ---- regions ----------------------------------------------------------------------------------


def list_regions(session: Session, *, scope: Scope, query: RegionQuery) -> RegionPage:
    """Lists the regions of the scope (or of a region inside it), by official code."""
    path = region_filter_path(session, scope=scope, code=query.region)
    base = select(Region).where(in_subtree(col(Region.path), path))
    if query.level:
        base = base.where(Region.level == query.level)
    stmt = base
    if query.cursor:
        stmt = stmt.where(col(Region.code) > cursors.decode_code(query.cursor).code)
    rows, more = split(
        list(session.exec(stmt.order_by(col(Region.code)).limit(query.limit + 1))), query.limit
    )
    parents = {r.parent_id for r in rows if r.parent_id}
    parent_codes = (
        {r.id: r.code for r in session.exec(select(Region).where(col(Region.id).in_(parents)))}
        if parents
        else {}
    )
    items = [
        RegionOut(
            code=r.code,
            name=r.name,
            level=r.level,  # type: ignore[arg-type]
            parent_code=parent_codes.get(r.parent_id) if r.parent_id else None,
        )
        for r in rows
    ]
    return RegionPage(
        items=items,
        next_cursor=cursors.encode_code(rows[-1].code) if more else None,
        total=count(session, base),
    )


# ---- branches ---------------------------------------------------------------------------------


def _branch_out(b: Branch, places: Places, merged: dict[int, str]) -> BranchOut:
    own = path_codes(b.region_path)[-1]
    township = places.township(b.region_path)
    return BranchOut(
        code=b.code,
        name=b.name,
        sector=b.sector,  # type: ignore[arg-type]
        region_code=own,
        region_name=places.name(own),
        township_code=township.code if township else None,
        township_name=township.name if township else None,
        secretary_name=b.secretary_name,
        member_count=b.member_count,
        founded_on=b.founded_on,
        status=b.status,  # type: ignore[arg-type]
        merged_into_code=merged.get(b.merged_into_id) if b.merged_into_id else None,
        dissolved_on=b.dissolved_on,
        version=b.version,
        updated_at=b.updated_at,
    )


def _branches_out(session: Session, rows: list[Branch]) -> list[BranchOut]:
    places = Places.load(session, (b.region_path for b in rows))
    merged_ids = {b.merged_into_id for b in rows if b.merged_into_id}
    merged = (
        {b.id or 0: b.code for b in session.exec(select(Branch).where(col(Branch.id).in_(merged_ids)))}
        if merged_ids
        else {}
    )
    return [_branch_out(b, places, merged) for b in rows]


def list_branches(session: Session, *, scope: Scope, query: BranchQuery) -> BranchPage:
    """Lists the branches of the scope, ordered by (updated_at, id)."""
    path = region_filter_path(session, scope=scope, code=query.region)
    base = select(Branch).where(in_subtree(col(Branch.region_path), path))
    if query.sector:
        base = base.where(Branch.sector == query.sector)
    if query.status:
        base = base.where(Branch.status == query.status)
    if query.updated_since:
        base = base.where(col(Branch.updated_at) >= query.updated_since)
    stmt = base
    if query.cursor:
        stmt = stmt.where(after(col(Branch.updated_at), col(Branch.id), cursors.decode_sync(query.cursor)))
    stmt = stmt.order_by(col(Branch.updated_at), col(Branch.id)).limit(query.limit + 1)
    rows, more = split(list(session.exec(stmt)), query.limit)
    return BranchPage(
        items=_branches_out(session, rows),
        next_cursor=cursors.encode_sync(rows[-1].updated_at, rows[-1].id or 0) if more else None,
        total=count(session, base),
    )


def get_branch(session: Session, *, scope: Scope, code: str) -> BranchOut:
    """Gets one branch by code (404 outside the scope: existence does not leak)."""
    branch = session.exec(select(Branch).where(Branch.code == code)).first()
    if branch is None or not scope.contains_path(branch.region_path):
        raise NotFound(NOT_FOUND)
    return _branches_out(session, [branch])[0]


# ---- criteria sets ----------------------------------------------------------------------------


def _applies_to(path: str) -> Any:
    """Criteria sets issued for a region path: by an ancestor (or itself) or by a region inside it."""
    parts = path_codes(path)
    ancestors = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    return or_(col(Region.path).in_(ancestors), in_subtree(col(Region.path), path))


def _criteria_out(c: CriteriaSetRecord, region: Region, *, detail: bool) -> CriteriaSetOut:
    fields: dict[str, Any] = {
        "id": c.id,
        "year": c.year,
        "sector": c.sector,
        "region_code": region.code,
        "region_name": region.name,
        "title": c.title,
        "revision": c.revision,
        "status": c.status,
        "content_hash": c.content_hash,
        "issuing_body": c.issuing_body,
        "document_number": c.document_number,
        "copied_from_id": c.copied_from_id,
        "published_at": c.published_at,
        "version": c.version,
        "updated_at": c.updated_at,
    }
    if detail:
        return CriteriaSetDetail(**fields, document=c.document)
    return CriteriaSetOut(**fields)


def list_criteria_sets(session: Session, *, scope: Scope, query: CriteriaSetQuery) -> CriteriaSetPage:
    """Lists published and archived criteria sets that apply to the scope, by (updated_at, id)."""
    path = region_filter_path(session, scope=scope, code=query.region)
    base = (
        select(CriteriaSetRecord, Region)
        .join(Region, col(Region.id) == col(CriteriaSetRecord.region_id))
        .where(col(CriteriaSetRecord.status).in_(VISIBLE_CRITERIA_STATUSES), _applies_to(path))
    )
    if query.year:
        base = base.where(CriteriaSetRecord.year == query.year)
    if query.sector:
        base = base.where(CriteriaSetRecord.sector == query.sector)
    if query.status:
        base = base.where(CriteriaSetRecord.status == query.status)
    if query.updated_since:
        base = base.where(col(CriteriaSetRecord.updated_at) >= query.updated_since)
    stmt = base
    if query.cursor:
        key = cursors.decode_sync(query.cursor)
        stmt = stmt.where(after(col(CriteriaSetRecord.updated_at), col(CriteriaSetRecord.id), key))
    stmt = (
        stmt.options(defer(CriteriaSetRecord.document))  # type: ignore[arg-type]
        .order_by(col(CriteriaSetRecord.updated_at), col(CriteriaSetRecord.id))
        .limit(query.limit + 1)
    )
    rows, more = split(list(session.exec(stmt)), query.limit)
    last = rows[-1][0] if rows else None
    return CriteriaSetPage(
        items=[_criteria_out(c, r, detail=False) for c, r in rows],
        next_cursor=cursors.encode_sync(last.updated_at, last.id or 0) if more and last else None,
        total=count(session, base),
    )


def get_criteria_set(session: Session, *, scope: Scope, criteria_set_id: int) -> CriteriaSetDetail:
    """Gets one criteria set with its full document (404 when not visible to the scope)."""
    row = session.exec(
        select(CriteriaSetRecord, Region)
        .join(Region, col(Region.id) == col(CriteriaSetRecord.region_id))
        .where(
            CriteriaSetRecord.id == criteria_set_id,
            col(CriteriaSetRecord.status).in_(VISIBLE_CRITERIA_STATUSES),
            _applies_to(scope.region_path),
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    out = _criteria_out(row[0], row[1], detail=True)
    assert isinstance(out, CriteriaSetDetail)
    return out


# ---- rankings ---------------------------------------------------------------------------------


def _ranking_row(x: Any, total: Decimal, standing: rankings_service.Standing) -> dict[str, Any]:
    """The API's row (RankingRow, in its field order) as JSON values, straight from the light page's
    columns: a page is up to 1,000 rows, and a pydantic model per row cost more than the query."""
    return {
        "rank": standing.rank,
        "assessment_id": x.assessment_id,
        "branch_code": x.branch_code,
        "branch_name": x.branch_name,
        "sector": x.sector,
        "township_code": x.township_code,
        "township_name": x.township_name,
        "status": x.status,
        "total": money_text(total),
        "stars": x.stars,
        "final_stars": x.final_stars,
    }


def list_rankings(session: Session, *, scope: Scope, query: RankingQuery) -> dict[str, Any]:
    """One page of the ranking of a year within a region (and sector), ties sharing a rank: a RankingPage
    as JSON values (tests/api check the body against the schema, byte for byte)."""
    path = region_filter_path(session, scope=scope, code=query.region)
    after = None
    if query.cursor:
        key = cursors.decode_rank(query.cursor)
        after = rankings_service.Cursor(key.total, key.branch_code)
    # The same ranking the county pages show (app.rankings), over every assessment with a total
    # (or one status): ties share a rank, ordered by total then branch code.
    items, total, _ranked, more = rankings_service.rank(
        session,
        scope=scope,
        year=query.year,
        region_path=path,
        sector=query.sector,
        statuses=[query.status] if query.status else None,
        after=after,
        limit=query.limit,
        build=_ranking_row,
        light=True,
    )
    next_cursor = cursors.encode_rank(more.total, more.code) if more else None
    return {"items": items, "next_cursor": next_cursor, "total": total}
