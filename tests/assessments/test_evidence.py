"""Evidence: type by magic bytes, size, content-addressed storage, thumbnails, scope, soft delete."""

from __future__ import annotations

import pytest
from PIL import Image
from sqlmodel import Session, select

from app.assessments import evidence as ev
from app.assessments.models import Assessment
from app.audit.models import AuditEvent
from app.config import get_settings
from app.errors import Forbidden, Locked, NotFound, ValidationFailed
from tests.assessments.helpers import PDF_BYTES, actor, fresh_assessment, png_bytes


@pytest.fixture()
def fresh(db: Session) -> Assessment:
    aid, _code = fresh_assessment()
    a = db.get(Assessment, aid)
    assert a is not None
    return a


def _add(db, a, data, declared="image/png", who="inspector_qs1", code="A1", name="现场.png"):  # type: ignore[no-untyped-def]
    return ev.add(
        db,
        actor=actor(db, who),
        assessment=a,
        item_code=code,
        filename=name,
        declared_type=declared,
        data=data,
    )


def test_a_photo_is_stored_by_hash_with_a_small_thumbnail(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    data = png_bytes((1200, 900))
    row = _add(db, fresh, data)
    assert row.content_type == "image/png" and row.size == len(data) and row.has_thumbnail
    path = ev.blob_path(row.sha256)
    assert path == get_settings().evidence_dir / row.sha256[:2] / row.sha256[2:4] / row.sha256
    assert path.read_bytes() == data
    with Image.open(ev.blob_path(row.sha256, ".thumb.jpg")) as thumb:
        assert max(thumb.size) <= 320 and thumb.format == "JPEG"
    again = _add(db, fresh, data, code="A2")  # same bytes: one file, two rows
    assert again.sha256 == row.sha256 and again.id != row.id
    assert db.exec(
        select(AuditEvent).where(AuditEvent.action == "evidence.add", AuditEvent.assessment_id == fresh.id)
    ).all()


def test_types_are_checked_by_their_bytes(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    assert ev.sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert ev.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert ev.sniff(PDF_BYTES) == "application/pdf"
    assert ev.sniff(b"<html><script>") is None
    with pytest.raises(ValidationFailed, match="只能上传"):
        _add(db, fresh, b"<svg onload=alert(1)>", declared="image/png")
    with pytest.raises(ValidationFailed, match="不符"):
        _add(db, fresh, png_bytes(), declared="application/pdf")
    with pytest.raises(ValidationFailed, match="损坏"):
        _add(db, fresh, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    pdf = _add(db, fresh, PDF_BYTES, declared="application/octet-stream", name="../../etc/台账.pdf")
    assert pdf.content_type == "application/pdf" and not pdf.has_thumbnail and pdf.filename == "台账.pdf"


def test_size_limit_is_413_in_chinese(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    with pytest.raises(ev.TooLarge) as exc:
        _add(db, fresh, big, declared="application/pdf")
    assert exc.value.status_code == 413 and "10 MB" in exc.value.detail
    with pytest.raises(ValidationFailed):
        _add(db, fresh, b"")


def test_who_may_add_and_where(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        _add(db, fresh, png_bytes(), who="county_qs")
    with pytest.raises(NotFound):
        _add(db, fresh, png_bytes(), code="NOPE")
    fresh.status = "submitted"
    with pytest.raises(Locked):
        _add(db, fresh, png_bytes())


def test_files_are_served_only_inside_the_scope_and_deletes_are_soft(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    row = _add(db, fresh, png_bytes())
    f = ev.open_file(db, evidence_id=row.id or 0, scope=actor(db, "county_qs").scope)
    assert f.content_type == "image/png" and f.inline
    with pytest.raises(NotFound):
        ev.open_file(db, evidence_id=row.id or 0, scope=actor(db, "inspector_qs2").scope)
    deleted = ev.delete(db, actor=actor(db, "inspector_qs1"), evidence_id=row.id or 0)
    assert deleted.deleted_at is not None and ev.blob_path(row.sha256).exists()
    with pytest.raises(NotFound):
        ev.open_file(db, evidence_id=row.id or 0, scope=actor(db, "county_qs").scope)
    events = db.exec(
        select(AuditEvent).where(AuditEvent.action == "evidence.delete", AuditEvent.assessment_id == fresh.id)
    ).all()
    assert len(events) == 1 and events[0].old["evidence"] == row.id
