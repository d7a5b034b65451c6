"""The dynamic-management entry points other domains call (reports, API, rankings, scoring, inspector
home). The work is done in the modules named below; import this one: `from app.dynamic import service`."""

from __future__ import annotations

from sqlmodel import Session

from app.auth.scope import Scope
from app.dynamic.changes import change_stars, changes
from app.dynamic.demo_sites import DEFAULT_CAP, DemoSiteCap, demo_sites_for
from app.dynamic.schemas import WeakListingPublic
from app.dynamic.timeline import timeline
from app.dynamic.visits import record_visit, visit_priorities
from app.dynamic.weak import listings
from app.dynamic.weak_cap import apply_weak_cap, weak_star_cap


def weak_listings_for(session: Session, *, scope: Scope, year: int) -> list[WeakListingPublic]:
    """The rectification list of a year inside the scope (listed or delisted; rejections left out),
    plus earlier listings still under rectification: for the annual report and the API."""
    rows = listings(session, region_path=scope.region_path, year=year)
    return [w for w in rows if w.status in ("listed", "delisted")]


__all__ = [
    "DEFAULT_CAP",
    "DemoSiteCap",
    "apply_weak_cap",
    "change_stars",
    "changes",
    "demo_sites_for",
    "record_visit",
    "timeline",
    "visit_priorities",
    "weak_listings_for",
    "weak_star_cap",
]
