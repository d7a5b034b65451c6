"""The /api/v1 endpoints: parse the query, call one service function, render JSON with an ETag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.api import assessments, service
from app.api.auth import ClientDep
from app.api.cursor import MAX_ID
from app.api.params import (
    AssessmentQuery,
    BranchQuery,
    CriteriaSetQuery,
    RankingQuery,
    RegionQuery,
    ResultQuery,
    StreamQuery,
)
from app.api.render import json_response, values_response
from app.api.schemas import (
    AssessmentDetail,
    AssessmentPage,
    BranchOut,
    BranchPage,
    CriteriaSetDetail,
    CriteriaSetPage,
    RankingPage,
    RegionPage,
    ResultPage,
)
from app.db import SessionDep

router = APIRouter()

BranchCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,32}$", description="支部编码")]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


class NDJSONResponse(StreamingResponse):
    media_type = "application/x-ndjson"


@router.get("/regions", response_model=RegionPage, tags=["行政区划"], summary="行政区划列表")
def list_regions(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[RegionQuery, Query()]
) -> Response:
    """Regions of the token's subtree, ordered by official code."""
    return json_response(request, service.list_regions(db, scope=client.scope, query=q))


@router.get("/branches", response_model=BranchPage, tags=["党支部"], summary="党支部列表（同步）")
def list_branches(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[BranchQuery, Query()]
) -> Response:
    """Branches of every status, ordered by (updated_at, id) for incremental sync."""
    return json_response(request, service.list_branches(db, scope=client.scope, query=q))


@router.get("/branches/{code}", response_model=BranchOut, tags=["党支部"], summary="单个党支部")
def get_branch(request: Request, db: SessionDep, client: ClientDep, code: BranchCode) -> Response:
    """One branch by its code (404 when outside the token's region)."""
    return json_response(request, service.get_branch(db, scope=client.scope, code=code))


@router.get("/criteria-sets", response_model=CriteriaSetPage, tags=["评分标准"], summary="评分标准列表")
def list_criteria_sets(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[CriteriaSetQuery, Query()]
) -> Response:
    """Published and archived criteria sets that apply to the region, by (updated_at, id)."""
    return json_response(request, service.list_criteria_sets(db, scope=client.scope, query=q))


@router.get(
    "/criteria-sets/{criteria_set_id}",
    response_model=CriteriaSetDetail,
    tags=["评分标准"],
    summary="单个评分标准（含细则正文）",
)
def get_criteria_set(request: Request, db: SessionDep, client: ClientDep, criteria_set_id: RowId) -> Response:
    """One criteria set with its full document."""
    return json_response(
        request, service.get_criteria_set(db, scope=client.scope, criteria_set_id=criteria_set_id)
    )


@router.get("/assessments", response_model=AssessmentPage, tags=["年度评定"], summary="年度评定列表（同步）")
def list_assessments(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[AssessmentQuery, Query()]
) -> Response:
    """Assessments of the token's region, ordered by (updated_at, id) for incremental sync."""
    return json_response(request, assessments.list_assessments(db, scope=client.scope, query=q))


@router.get(
    "/assessments.ndjson",
    response_class=NDJSONResponse,
    response_model=None,
    tags=["年度评定"],
    summary="年度评定批量导出（NDJSON，每行一条，含录入与说明）",
)
def stream_assessments(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[StreamQuery, Query()]
) -> StreamingResponse:
    """Every matching assessment with its entries, one JSON object per line, in constant memory."""
    service.region_filter_path(db, scope=client.scope, code=q.region)  # refuse before the stream starts
    bind = db.get_bind()
    batch = request.app.state.api_settings.ndjson_batch

    def lines() -> Iterator[bytes]:
        with Session(bind, expire_on_commit=False) as stream_session:
            yield from assessments.iter_assessment_lines(
                stream_session, scope=client.scope, query=q, batch=batch
            )

    return NDJSONResponse(lines())


@router.get(
    "/assessments/{assessment_id}",
    response_model=AssessmentDetail,
    tags=["年度评定"],
    summary="单个年度评定（含各指标录入与评分说明）",
)
def get_assessment(request: Request, db: SessionDep, client: ClientDep, assessment_id: RowId) -> Response:
    """One assessment with its item entries and the scoring explanation."""
    return json_response(
        request, assessments.get_assessment(db, scope=client.scope, assessment_id=assessment_id)
    )


@router.get("/results", response_model=ResultPage, tags=["认定结果"], summary="认定结果（仅已认定）")
def list_results(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[ResultQuery, Query()]
) -> Response:
    """Final stars per branch and year (status 'final' only), ordered by (updated_at, id)."""
    return json_response(request, assessments.list_results(db, scope=client.scope, query=q))


@router.get("/rankings", response_model=RankingPage, tags=["排名"], summary="排名")
def list_rankings(
    request: Request, db: SessionDep, client: ClientDep, q: Annotated[RankingQuery, Query()]
) -> Response:
    """A year's ranking by total within a region (and sector); ties share a rank (1, 2, 2, 4)."""
    return values_response(request, service.list_rankings(db, scope=client.scope, query=q))
