"""Template context of the report and notice documents (the same for the page, the PDF and the job view)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from app.assessments.review_service import PUBLICITY_STATES
from app.dynamic.labels import STAR_CHANGE_EVENTS
from app.gcpause import gc_paused
from app.rankings.exports import CHANGE_LABELS
from app.reports import figures, service
from app.reports.schemas import AnnualReport, ChangeLine, Notice, RectLine
from app.web.templating import env

CHANGE_KINDS = {"up": "升星", "down": "降星", "withdrawn": "摘星"}
SPECIAL_KINDS = {"veto": "一票否决", "designation": "直接定级"}


L = TypeVar("L", ChangeLine, RectLine)


def by_place(lines: Iterable[L]) -> list[tuple[str, list[L]]]:
    """Consecutive lines of one place together, in the order given (Jinja's groupby would sort)."""
    out: list[tuple[str, list[L]]] = []
    for line in lines:
        if out and out[-1][0] == line.line.place:
            out[-1][1].append(line)
        else:
            out.append((line.line.place, [line]))
    return out


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
        "by_place": by_place,
        "child_link": service.child_link,
        "sector_link": service.sector_link,
    }


def annual_body(report: AnnualReport) -> str:
    """The report's body as the page shows it (reports/_annual_body.html, autoescaped): what a report job
    stores next to its files, so that viewing a large report renders only the page around it."""
    with gc_paused():  # ~1.4 MB of HTML for a county of 3,000 branches (app.gcpause)
        return env.get_template("reports/_annual_body.html").render(annual_context(report, pdf=False))


def notice_context(notice: Notice, *, pdf: bool) -> dict[str, Any]:
    return {"data": notice, "pdf": pdf, "PUBLICITY_STATES": PUBLICITY_STATES}
