"""The three-star block: while a branch is listed as weak (软弱涣散) and the county has not lifted the
block, it cannot be rated three stars or above.

`weak_star_cap` answers the question; `apply_weak_cap` applies it to an assessment. The scoring
recompute and the finalize paths call `apply_weak_cap` right after they set the stars."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.assessments.models import Assessment
from app.audit import service as audit
from app.dynamic.models import WeakListing
from app.labels import STARS

WEAK_CAP_STARS = 2
STEP_KIND = "weak_cap"


# Built once: every item save asks it (through recompute), and building and ORM-compiling the statement
# per call cost more than running it. Plain Core on the session's connection: no autoflush.
_BLOCKING = (
    select(col(WeakListing.id))
    .where(
        col(WeakListing.branch_id) == bindparam("branch_id"),
        col(WeakListing.status) == "listed",
        col(WeakListing.lifted).is_(False),
        col(WeakListing.year) <= bindparam("year"),
    )
    .order_by(col(WeakListing.year).desc())
    .limit(1)
)


def blocking_listing(session: Session, *, branch_id: int, year: int) -> WeakListing | None:
    """The listing that blocks three stars for the branch's rating of `year`, if any: listed in that
    year or before, not delisted, not lifted.

    Nearly every answer is "none": the id is looked up first (a column, not an entity), and the row is
    loaded only when there is one. Pending weak listings are flushed first (the lookup must see them);
    nothing else is, so a recompute's assessment row is written once, by its caller's flush."""
    if any(isinstance(o, WeakListing) for o in (*session.new, *session.dirty, *session.deleted)):
        session.flush()
    found = session.connection().execute(_BLOCKING, {"branch_id": branch_id, "year": year}).scalar()
    if found is None:
        return None
    with session.no_autoflush:
        return session.get(WeakListing, found)


def weak_star_cap(session: Session, *, branch_id: int, year: int) -> tuple[int | None, str | None]:
    """(2, why) when the branch's stars for `year` are capped by a weak-branch listing, else (None, None)."""
    listing = blocking_listing(session, branch_id=branch_id, year=year)
    if listing is None:
        return None, None
    why = (
        f"该支部已列入{listing.year}年度软弱涣散基层党组织整顿名单，整顿期间不得评为三星及以上"
        f"（县委组织部未解除限制），星级最高为{STARS[WEAK_CAP_STARS]}"
    )
    return WEAK_CAP_STARS, why


def apply_weak_cap(session: Session, assessment: Assessment, *, actor: audit.Actor = audit.SYSTEM) -> bool:
    """Caps assessment.stars and assessment.final_stars at two stars when the block applies, notes why
    (an explanation step for the provisional stars, a line in quota_explanation for the final stars)
    and audits the change. Returns True when it changed something. Does not bump the version: the
    caller's own write does (recompute / finalize)."""
    cap, why = weak_star_cap(session, branch_id=assessment.branch_id, year=assessment.year)
    if cap is None or why is None:
        return False
    old: dict[str, int] = {}
    new: dict[str, int] = {}
    if assessment.stars is not None and assessment.stars > cap:
        old["stars"], new["stars"] = assessment.stars, cap
        assessment.stars = cap
        if not any(isinstance(s, dict) and s.get("kind") == STEP_KIND for s in assessment.explanation):
            assessment.explanation = [
                *assessment.explanation,
                {"kind": STEP_KIND, "code": None, "text": why, "value": str(cap)},
            ]
    if assessment.final_stars is not None and assessment.final_stars > cap:
        old["final_stars"], new["final_stars"] = assessment.final_stars, cap
        assessment.final_stars = cap
        if why not in assessment.quota_explanation:
            assessment.quota_explanation = [*assessment.quota_explanation, why]
    if not new:
        return False
    session.add(assessment)
    audit.record(
        session,
        actor=actor,
        action="assessment.weak_cap",
        entity_type="assessment",
        entity_id=assessment.id,
        old=old,
        new=new,
        reason=why,
        assessment_id=assessment.id,
    )
    return True
