"""佐证材料: photos and PDFs per item, checked by their bytes, stored once by SHA-256, served by scope."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from app.assessments import scoring
from app.assessments.models import Assessment, Evidence
from app.assessments.service import INSPECTOR_EDITABLE, Actor, get
from app.audit import service as audit
from app.auth.roles import Perm
from app.auth.scope import Scope
from app.config import get_settings
from app.db_types import utcnow
from app.errors import DomainError, Forbidden, Locked, NotFound, ValidationFailed

THUMB_PX = 320
ALLOWED = ("image/jpeg", "image/png", "image/webp", "application/pdf")
# What browsers and phones declare for the same four kinds.
DECLARED_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
MAX_PIXELS = 60_000_000  # larger "photos" are decompression bombs, not 台账


class TooLarge(DomainError):
    status_code = 413
    title = "上传内容过大"


def max_bytes() -> int:
    return get_settings().max_upload_mb * 1024 * 1024


def sniff(data: bytes) -> str | None:
    """The content type by magic bytes (JPEG, PNG, WebP, PDF), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:1024].lstrip(b"\r\n\t \x00\xef\xbb\xbf").startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check(data: bytes, declared: str | None) -> str:
    """The verified content type of an upload; raises TooLarge / ValidationFailed in Chinese."""
    limit = max_bytes()
    if len(data) > limit:
        raise TooLarge(f"文件超过 {limit // (1024 * 1024)} MB，请压缩或分页后再上传")
    if not data:
        raise ValidationFailed("文件是空的", field_errors={"file": "请选择要上传的照片或 PDF"})
    kind = sniff(data)
    if kind is None:
        raise ValidationFailed(
            "只能上传 JPG、PNG、WebP 图片或 PDF 文件",
            field_errors={"file": "文件内容不是 JPG、PNG、WebP 图片或 PDF"},
        )
    said = (declared or "").split(";")[0].strip().lower()
    said = DECLARED_ALIASES.get(said, said)
    if said in ALLOWED and said != kind:
        raise ValidationFailed(
            "文件内容与声明的类型不符", field_errors={"file": "文件内容与扩展名或类型不符"}
        )
    return kind


def _decode(data: bytes) -> Image.Image:
    """Opens an image fully (a valid header on broken data fails here), refusing decompression bombs."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise ValidationFailed("图片尺寸过大", field_errors={"file": "图片像素过多，请压缩后再上传"})
            img.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:  # fmt: skip
            raise ValidationFailed("图片文件已损坏，无法打开", field_errors={"file": "图片已损坏"}) from exc
    return img


def blob_path(sha: str, suffix: str = "") -> Path:
    """data/evidence/ab/cd/<sha> (and <sha>.thumb.jpg)."""
    return get_settings().evidence_dir / sha[:2] / sha[2:4] / f"{sha}{suffix}"


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _thumbnail(img: Image.Image) -> bytes:
    img = ImageOps.exif_transpose(img) or img
    img.thumbnail((THUMB_PX, THUMB_PX))
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def clean_filename(name: str | None, kind: str) -> str:
    """A display name without directories or control characters (the bytes are stored by hash)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base).strip(" .")
    if not base:
        base = "佐证材料"
    _stem, dot, ext = base.rpartition(".")
    if not dot or f".{ext.lower()}" not in (*EXTENSIONS.values(), ".jpeg"):
        base = base + EXTENSIONS[kind]
    return base[-200:]


def _check_write(actor: Actor, a: Assessment) -> None:
    """Inspectors add evidence while they may score; a branch secretary while self-assessing."""
    if actor.role == "branch":
        if not actor.can(Perm.SELF_ASSESS) or actor.scope.branch_id != a.branch_id:
            raise Forbidden("只能为本支部上传佐证材料")
        if a.status != "draft":
            raise Locked("自评已提交，不能再上传佐证材料")
        return
    if not actor.can(Perm.SCORE):
        raise Forbidden("只有评审员可以上传佐证材料")
    if a.status not in INSPECTOR_EDITABLE:
        raise Locked("考评已提交或已锁定，不能再修改佐证材料")


def add(
    session: Session,
    *,
    actor: Actor,
    assessment: Assessment,
    item_code: str,
    filename: str | None,
    declared_type: str | None,
    data: bytes,
) -> Evidence:
    """Checks and stores one file for an item (content-addressed), with a thumbnail for images."""
    _check_write(actor, assessment)
    cs = scoring.criteria_of(session, assessment)
    if cs.find_item(item_code) is None:
        raise NotFound("该评分标准中没有这个指标")
    kind = check(data, declared_type)
    img = _decode(data) if kind.startswith("image/") else None
    sha = hashlib.sha256(data).hexdigest()
    _write_once(blob_path(sha), data)
    if img is not None:
        thumb = blob_path(sha, ".thumb.jpg")
        if not thumb.exists():
            _write_once(thumb, _thumbnail(img))
    row = Evidence(
        assessment_id=assessment.id or 0,
        item_code=item_code,
        sha256=sha,
        filename=clean_filename(filename, kind),
        content_type=kind,
        size=len(data),
        has_thumbnail=img is not None,
        uploaded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.audit,
        action="evidence.add",
        entity_type="assessment",
        entity_id=assessment.id,
        assessment_id=assessment.id,
        item_code=item_code,
        new={"evidence": row.id, "filename": row.filename, "sha256": sha, "size": row.size},
    )
    return row


def get_evidence(session: Session, *, evidence_id: int, scope: Scope) -> tuple[Evidence, Assessment]:
    """An evidence row whose assessment is inside the scope (404 otherwise, and once deleted)."""
    row = session.get(Evidence, evidence_id)
    if row is None or row.deleted_at is not None:
        raise NotFound("佐证材料不存在或已删除")
    a = get(session, assessment_id=row.assessment_id, scope=scope)
    return row, a


def delete(session: Session, *, actor: Actor, evidence_id: int) -> Evidence:
    """Marks a file deleted (the bytes stay: other rows may share them; the audit keeps the trace)."""
    row, a = get_evidence(session, evidence_id=evidence_id, scope=actor.scope)
    _check_write(actor, a)
    row.deleted_at = utcnow()
    session.add(row)
    audit.record(
        session,
        actor=actor.audit,
        action="evidence.delete",
        entity_type="assessment",
        entity_id=a.id,
        assessment_id=a.id,
        item_code=row.item_code,
        old={"evidence": row.id, "filename": row.filename, "sha256": row.sha256},
    )
    session.flush()
    return row


@dataclass(frozen=True)
class StoredFile:
    path: Path
    content_type: str
    filename: str
    inline: bool


def open_file(session: Session, *, evidence_id: int, scope: Scope, thumbnail: bool = False) -> StoredFile:
    """Where a file (or its thumbnail) lives and how to serve it; scope-checked."""
    row, _a = get_evidence(session, evidence_id=evidence_id, scope=scope)
    if thumbnail:
        if not row.has_thumbnail:
            raise NotFound("该文件没有缩略图")
        path = blob_path(row.sha256, ".thumb.jpg")
        return StoredFile(path, "image/jpeg", row.filename, True)
    path = blob_path(row.sha256)
    if not path.exists():
        raise NotFound("文件已丢失，请重新上传")
    return StoredFile(path, row.content_type, row.filename, row.content_type != "application/pdf")
