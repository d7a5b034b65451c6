"""Fresh assessments for tests that need a clean one (the demo's are shared by the whole run)."""

from __future__ import annotations

import io
import itertools
import os
from decimal import Decimal

from PIL import Image
from sqlmodel import Session, col, select

from app.assessments import evidence as evidence_service
from app.assessments import scoring, service
from app.assessments.models import Assessment
from app.assessments.schemas import ItemSave
from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.models import User
from app.branches.models import Branch
from app.db import session_scope
from app.regions.models import Region
from app.scoring import Item, PenaltyItem

TOWNSHIP = "990102001"
_seq = itertools.count(1)
_run = os.getpid() % 10000


def png_bytes(size: tuple[int, int] = (640, 480), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def new_branch(session: Session, *, sector: str = "rural", township: str = TOWNSHIP) -> Branch:
    """A new active branch in a village of the township (unique code per call and run)."""
    village = session.exec(
        select(Region)
        .where(col(Region.code).startswith(township), Region.level == "village")
        .order_by(Region.code)
    ).first()
    assert village is not None
    n = next(_seq)
    branch = Branch(
        code=f"{village.code}-X{_run:04d}{n:03d}",  # codes start with their region's, like the register's
        name=f"测试支部{_run}-{n}",
        sector=sector,
        region_id=village.id or 0,
        region_path=village.path,
        member_count=20,
    )
    session.add(branch)
    session.flush()
    return branch


def fresh_assessment(*, sector: str = "rural", township: str = TOWNSHIP) -> tuple[int, str]:
    """Creates (and commits) a new branch and its 2026 assessment; returns (assessment id, branch code)."""
    with session_scope() as s:
        branch = new_branch(s, sector=sector, township=township)
        a = service.ensure_for_year(s, branch=branch, year=2026, actor=audit.SYSTEM)
        return a.id or 0, branch.code


def actor(session: Session, username: str) -> service.Actor:
    user = session.exec(select(User).where(User.username == username)).one()
    return service.Actor(user.id, user.display_name, user.role, auth_service.scope_for_user(session, user))


def branch_user_for(branch_code: str) -> str:
    """Creates (and commits) a branch secretary account for a branch; returns the username."""
    username = f"sec_{branch_code.lower().replace('-', '_')}"
    with session_scope() as s:
        if s.exec(select(User).where(User.username == username)).first() is None:
            branch = s.exec(select(Branch).where(Branch.code == branch_code)).one()
            region = s.get(Region, branch.region_id)
            assert region is not None
            auth_service.create_user(
                s,
                username=username,
                display_name="测试书记",
                role="branch",
                region_code=region.code,
                password="Xingji@2026",
                branch_code=branch_code,
            )
    return username


def complete_entry(leaf_item: Item | PenaltyItem) -> dict:
    """An entry that scores an item fully (points at max, deductive checked with nothing to deduct)."""
    if isinstance(leaf_item, Item) and leaf_item.mode == "points":
        return {"points": str(leaf_item.max)}
    return {}


def score_everything(session: Session, *, who: service.Actor, a: Assessment) -> None:
    """Scores every required item and adds a photo to every item that needs one."""
    cs = scoring.criteria_of(session, a)
    photo = png_bytes((32, 32))
    for leaf in cs.items():
        if leaf.section != "category":
            continue
        current = _version(session, a, leaf.item.code)
        service.save_item(
            session,
            actor=who,
            assessment=a,
            item_code=leaf.item.code,
            source="inspector",
            data=ItemSave(entry=complete_entry(leaf.item), version=current),
        )
        if leaf.item.evidence_required:
            evidence_service.add(
                session,
                actor=who,
                assessment=a,
                item_code=leaf.item.code,
                filename="photo.png",
                declared_type="image/png",
                data=photo,
            )
    session.flush()


def _version(session: Session, a: Assessment, code: str) -> int:
    rows = {r.item_code: r for r in scoring.entry_rows(session, a.id or 0, "inspector")}
    return rows[code].version if code in rows else 0


def dec(value: object) -> Decimal:
    return Decimal(str(value))
