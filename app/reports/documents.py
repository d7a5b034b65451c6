"""Template context of the report and notice documents (the same for the page, the PDF and the job view)."""

from __future__ import annotations

from typing import Any

from app.assessments.review_service import PUBLICITY_STATES
from app.dynamic.labels import STAR_CHANGE_EVENTS
from app.rankings.exports import CHANGE_LABELS
from app.reports import figures, service
from app.reports.schemas import AnnualReport, Notice

CHANGE_KINDS = {"up": "升星", "down": "降星", "withdrawn": "摘星"}
SPECIAL_KINDS = {"veto": "一票否决", "designation": "直接定级"}


def annual_context(report: AnnualReport, *, pdf: bool) -> dict[str, Any]:
    return {
        "data": report,
        "charts": figures.charts_for(report),
        "pdf": pdf,
        "STAR_LEVELS": list(range(5, -1, -1)),
        "CHANGE_KINDS": CHANGE_KINDS,
        "CHANGE_LABELS": CHANGE_LABELS,
        "SPECIAL_KINDS": SPECIAL_KINDS,
        "STAR_CHANGE_EVENTS": STAR_CHANGE_EVENTS,
        "branch_link": service.branch_link,
        "child_link": service.child_link,
        "sector_link": service.sector_link,
    }


def notice_context(notice: Notice, *, pdf: bool) -> dict[str, Any]:
    return {"data": notice, "pdf": pdf, "PUBLICITY_STATES": PUBLICITY_STATES}
