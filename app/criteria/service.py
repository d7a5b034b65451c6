"""Criteria sets as stored documents: create drafts, publish (frozen, hashed), load the parsed set."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import or_, update
from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.auth.scope import Scope
from app.criteria.diff import diff_documents
from app.criteria.models import CriteriaSetRecord
from app.criteria.schemas import MAX_UPLOAD_BYTES, CriteriaFilters, CriteriaSetDetail, CriteriaSetPublic
from app.db_types import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.regions.models import Region
from app.scoring import CriteriaSet, DocumentError, content_hash, dump_document, load_document
from app.scoring.library import library_names, load_library
from app.scoring.loader import parse_yaml


class ParsedCache:
    """A bounded LRU of parsed criteria sets keyed by content hash (thread-safe).

    A published set never changes (publishing freezes and hashes it), so its parse is valid for as long as
    the process lives; the key is the SHA-256 of the canonical document, so equal documents share one
    parse and a different document can never be served under a stale key. Drafts are never cached."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, CriteriaSet] = OrderedDict()
        self._names: dict[int, str] = {}  # id of a cached parse -> its digest (the cache keeps it alive)
        self._lock = threading.Lock()

    def get(self, digest: str) -> CriteriaSet | None:
        with self._lock:
            cs = self._items.get(digest)
            if cs is not None:
                self._items.move_to_end(digest)
            return cs

    def put(self, digest: str, cs: CriteriaSet) -> None:
        with self._lock:
            replaced = self._items.get(digest)
            if replaced is not None:
                self._names.pop(id(replaced), None)
            self._items[digest] = cs
            self._names[id(cs)] = digest
            self._items.move_to_end(digest)
            while len(self._items) > self.maxsize:
                _digest, evicted = self._items.popitem(last=False)
                self._names.pop(id(evicted), None)

    def name_of(self, cs: CriteriaSet) -> str | None:
        """The digest `cs` is cached under, if it is this cache's parse of it (not an equal copy): the name
        under which the scoring engine may remember its items (`score(..., memo=)`)."""
        with self._lock:
            digest = self._names.get(id(cs))
            return digest if digest is not None and self._items.get(digest) is cs else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._names.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, digest: object) -> bool:
        return digest in self._items


PARSED = ParsedCache()


def parsed(record: CriteriaSetRecord) -> CriteriaSet:
    """The parsed set of a record (published sets are cached by their content hash)."""
    if record.status == "draft" or not record.content_hash:
        return load_document(record.document)
    cs = PARSED.get(record.content_hash)
    if cs is None:
        cs = load_document(record.document)
        PARSED.put(record.content_hash, cs)
    return cs


def parsed_by_id(session: Session, *, record_id: int, content_hash: str) -> CriteriaSet:
    """The parsed published set `record_id` pinned by `content_hash`: from the cache without touching the
    database when it holds that hash, else loaded (and cached under the record's own hash)."""
    cs = PARSED.get(content_hash) if content_hash else None
    if cs is not None:
        return cs
    record = session.get(CriteriaSetRecord, record_id)
    if record is None:
        raise NotFound(NOT_FOUND)
    return parsed(record)


def validate_document(document: Any) -> CriteriaSet:
    """Parses a document, turning its errors into a ValidationFailed with a path per error."""
    try:
        return load_document(document)
    except DocumentError as exc:
        errors: dict[str, str] = {}
        for path, message in exc.errors:
            key = path or "document"
            errors[key] = f"{errors[key]}；{message}" if key in errors else message
        raise ValidationFailed("评分标准文档有误", field_errors=errors) from exc


def create_draft(
    session: Session,
    *,
    document: dict[str, Any],
    region_id: int,
    actor: audit.Actor,
    copied_from_id: int | None = None,
) -> CriteriaSetRecord:
    """Creates a draft from a document (validated) as the next revision for its year, sector and region."""
    cs = validate_document(document)
    revision = (
        session.exec(
            select(func.max(CriteriaSetRecord.revision)).where(
                CriteriaSetRecord.year == cs.year,
                CriteriaSetRecord.sector == cs.sector,
                CriteriaSetRecord.region_id == region_id,
            )
        ).one()
        or 0
    ) + 1
    record = CriteriaSetRecord(
        year=cs.year,
        sector=cs.sector,
        region_id=region_id,
        title=cs.title,
        revision=revision,
        document=dump_document(cs),
        issuing_body=cs.issuer or None,
        document_number=cs.document_number or None,
        copied_from_id=copied_from_id,
        created_by_id=actor.id,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criteria.create",
        entity_type="criteria_set",
        entity_id=record.id,
        new={"year": record.year, "sector": record.sector, "revision": revision},
    )
    return record


def publish(
    session: Session, *, record: CriteriaSetRecord, actor: audit.Actor, version: int | None = None
) -> None:
    """Publishes a draft: from now on it is frozen and identified by its content hash."""
    if record.status != "draft":
        raise Conflict("只有草稿可以发布；已发布的评分标准不能修改", extra=_current(record))
    if version is not None and version != record.version:
        raise Conflict("评分标准已被他人修改，请刷新后再发布", extra=_current(record))
    old = {"status": record.status, "version": record.version}
    cs = validate_document(record.document)
    record.document = dump_document(cs)
    record.content_hash = content_hash(cs)
    record.status = "published"
    record.published_at = utcnow()
    record.updated_at = utcnow()
    record.version += 1
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criteria.publish",
        entity_type="criteria_set",
        entity_id=record.id,
        old=old,
        new={"status": record.status, "version": record.version, "content_hash": record.content_hash},
    )


def get(session: Session, *, criteria_set_id: int) -> CriteriaSetRecord:
    record = session.get(CriteriaSetRecord, criteria_set_id)
    if record is None:
        raise NotFound("评分标准不存在")
    return record


def published_for(session: Session, *, year: int, sector: str, region_path: str) -> CriteriaSetRecord | None:
    """The published set that applies to a branch: the nearest issuing region up its path, latest revision."""
    from app.regions.models import Region

    codes = [c for c in region_path.strip("/").split("/") if c]
    stmt = (
        select(CriteriaSetRecord, Region.path)
        .join(Region, col(Region.id) == CriteriaSetRecord.region_id)
        .where(
            CriteriaSetRecord.year == year,
            CriteriaSetRecord.sector == sector,
            CriteriaSetRecord.status == "published",
            col(Region.code).in_(codes),
        )
    )
    best: tuple[int, int, CriteriaSetRecord] | None = None
    for record, path in session.exec(stmt):
        key = (path.count("/"), record.revision)
        if best is None or key > best[:2]:
            best = (key[0], key[1], record)
    return best[2] if best else None


# ---- visibility and scope ---------------------------------------------------------------------
NOT_FOUND = "评分标准不存在或不在您的查看范围内"
FROZEN = "已发布的评分标准不能修改"
ISSUING_LEVELS = ("province", "city", "county")


@dataclass(frozen=True)
class Row:
    """A stored set with its issuing region."""

    record: CriteriaSetRecord
    region: Region


def _ancestor_paths(path: str) -> list[str]:
    codes = [c for c in path.strip("/").split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def _visible(scope: Scope) -> Any:
    """Sets issued inside the scope (any status) or by an ancestor of it (published or archived)."""
    above = [p for p in _ancestor_paths(scope.region_path) if p != scope.region_path]
    return or_(
        scope.filter(col(Region.path)),
        (col(Region.path).in_(above)) & (col(CriteriaSetRecord.status) != "draft"),
    )


def can_edit(scope: Scope, row: Row) -> bool:
    """The set is issued by a region inside the scope (the role is checked separately)."""
    return scope.contains_path(row.region.path)


def to_public(row: Row, *, scope: Scope | None = None, detail: bool = False) -> CriteriaSetPublic:
    r = row.record
    fields: dict[str, Any] = {
        "id": r.id or 0,
        "year": r.year,
        "sector": r.sector,
        "region_code": row.region.code,
        "region_name": row.region.name,
        "title": r.title,
        "revision": r.revision,
        "status": r.status,
        "content_hash": r.content_hash,
        "issuing_body": r.issuing_body,
        "document_number": r.document_number,
        "copied_from_id": r.copied_from_id,
        "published_at": r.published_at,
        "version": r.version,
        "updated_at": r.updated_at,
        "editable": bool(scope and can_edit(scope, row) and r.status == "draft"),
    }
    if detail:
        return CriteriaSetDetail(**fields, document=r.document)
    return CriteriaSetPublic(**fields)


def list_visible(session: Session, *, scope: Scope, filters: CriteriaFilters, limit: int = 500) -> list[Row]:
    """Sets the scope may see, newest year first, then sector, issuer depth and revision."""
    stmt = (
        select(CriteriaSetRecord, Region)
        .join(Region, col(Region.id) == col(CriteriaSetRecord.region_id))
        .where(_visible(scope))
    )
    if filters.year:
        stmt = stmt.where(CriteriaSetRecord.year == filters.year)
    if filters.sector:
        stmt = stmt.where(CriteriaSetRecord.sector == filters.sector)
    if filters.status:
        stmt = stmt.where(CriteriaSetRecord.status == filters.status)
    stmt = stmt.order_by(
        col(CriteriaSetRecord.year).desc(),
        col(CriteriaSetRecord.sector),
        col(Region.path),
        col(CriteriaSetRecord.revision).desc(),
    ).limit(limit)
    return [Row(rec, reg) for rec, reg in session.exec(stmt)]


def years(session: Session, *, scope: Scope) -> list[int]:
    stmt = (
        select(CriteriaSetRecord.year)
        .join(Region, col(Region.id) == col(CriteriaSetRecord.region_id))
        .where(_visible(scope))
        .distinct()
    )
    return sorted(set(session.exec(stmt)), reverse=True)


def get_visible(session: Session, *, scope: Scope, criteria_set_id: int) -> Row:
    """One set the scope may see (404 otherwise: existence does not leak)."""
    row = session.exec(
        select(CriteriaSetRecord, Region)
        .join(Region, col(Region.id) == col(CriteriaSetRecord.region_id))
        .where(CriteriaSetRecord.id == criteria_set_id, _visible(scope))
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return Row(row[0], row[1])


def get_for_write(session: Session, *, scope: Scope, criteria_set_id: int) -> Row:
    """A set the scope may change: 404 when invisible, 403 when issued above the scope."""
    row = get_visible(session, scope=scope, criteria_set_id=criteria_set_id)
    if not can_edit(scope, row):
        raise Forbidden("上级发布的评分标准只能查看，不能修改；如需调整，请复制为本级草稿")
    return row


def issuing_regions(session: Session, *, scope: Scope) -> list[Region]:
    """Regions in the scope that may issue criteria sets (province, city, county), by path."""
    stmt = (
        select(Region)
        .where(scope.filter(col(Region.path)), col(Region.level).in_(ISSUING_LEVELS))
        .order_by(col(Region.path))
    )
    return list(session.exec(stmt))


def issuing_region(session: Session, *, scope: Scope, code: str | None) -> Region:
    """The issuing region of a new set: the scope's own region, or (when given) one in the scope."""
    if not code:
        region = session.get(Region, scope.region_id)
        if region is None:
            raise NotFound("区域不存在")
        return region
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or not scope.contains_path(region.path):
        raise ValidationFailed("发布单位有误", field_errors={"region": "区域不存在或不在您的管辖范围内"})
    if region.level not in ISSUING_LEVELS:
        raise ValidationFailed(
            "发布单位有误", field_errors={"region": "只有省、市、县（区）可以发布评分标准"}
        )
    return region


def issuer_by_code(session: Session, *, code: str) -> Region:
    """An issuing region by code, without a user scope (command line)."""
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None:
        raise NotFound(f"区划代码 {code} 不存在")
    if region.level not in ISSUING_LEVELS:
        raise ValidationFailed(
            "发布单位有误", field_errors={"region": "只有省、市、县（区）可以发布评分标准"}
        )
    return region


# ---- creating drafts --------------------------------------------------------------------------
def parse_text(text: str) -> dict[str, Any]:
    """YAML or JSON text → a document dict (ValidationFailed with paths when malformed)."""
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            "文档过大（不能超过 1 MB）", field_errors={"document": "文档过大（不能超过 1 MB）"}
        )
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ValidationFailed("文档为空", field_errors={"document": "请上传文件或粘贴文档内容"})
    data: Any
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValidationFailed(
                "文档嵌套层级过深", field_errors={"document": "文档嵌套层级过深，不是有效的评分标准"}
            ) from None
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            where = f"（第 {line} 行）" if line else ""
            raise ValidationFailed(
                "JSON 格式错误", field_errors={"document": f"JSON 格式错误{where}：{exc.args[0]}"}
            ) from None
    else:
        try:
            data = parse_yaml(text)
        except RecursionError:
            raise ValidationFailed(
                "文档嵌套层级过深", field_errors={"document": "文档嵌套层级过深，不是有效的评分标准"}
            ) from None
        except DocumentError as exc:
            raise ValidationFailed(
                "评分标准文档有误", field_errors={p or "document": m for p, m in exc.errors}
            ) from None
    if not isinstance(data, dict):
        raise ValidationFailed(
            "评分标准文档有误", field_errors={"document": "文档必须是键值对象（YAML 映射或 JSON 对象）"}
        )
    return data


def import_text(session: Session, *, text: str, region: Region, actor: audit.Actor) -> CriteriaSetRecord:
    """A new draft from an uploaded (or pasted) YAML/JSON document."""
    return create_draft(session, document=parse_text(text), region_id=region.id or 0, actor=actor)


def _retitle(title: str, old_year: int, new_year: int) -> str:
    """The title with the year replaced (a title without the year stays as it is)."""
    return title.replace(str(old_year), str(new_year))


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise ValidationFailed("年度有误", field_errors={"year": "年度须在 2000–2100 之间"})


def copy_to_year(
    session: Session, *, source: CriteriaSetRecord, year: int, region: Region, actor: audit.Actor
) -> CriteriaSetRecord:
    """A new draft for ``year`` copied from an existing set (the year in the title is replaced)."""
    _check_year(year)
    doc = dict(source.document)
    doc["year"] = year
    doc["title"] = _retitle(str(doc.get("title", "")), source.year, year)
    return create_draft(
        session, document=doc, region_id=region.id or 0, actor=actor, copied_from_id=source.id
    )


def from_library(
    session: Session, *, name: str, year: int, region: Region, actor: audit.Actor
) -> CriteriaSetRecord:
    """A new draft for ``year`` from the standard library (a sector default or a shape example)."""
    _check_year(year)
    if name not in library_names():
        raise ValidationFailed("标准库中没有该文档", field_errors={"library": "请选择标准库中的文档"})
    cs = load_library(name)
    doc = dump_document(cs)
    doc["year"] = year
    doc["title"] = _retitle(cs.title, cs.year, year)
    return create_draft(session, document=doc, region_id=region.id or 0, actor=actor)


# ---- editing, archiving -----------------------------------------------------------------------
def _current(record: CriteriaSetRecord) -> dict[str, Any]:
    return {
        "current": {
            "id": record.id,
            "status": record.status,
            "version": record.version,
            "updated_at": record.updated_at.isoformat() if record.updated_at else None,
        }
    }


def require_draft(record: CriteriaSetRecord) -> None:
    """Published and archived sets are frozen: any write is a 409."""
    if record.status == "published":
        raise Conflict(FROZEN, extra=_current(record))
    if record.status != "draft":
        raise Conflict("已归档的评分标准不能修改", extra=_current(record))


def check_version(record: CriteriaSetRecord, version: int | None) -> None:
    if version is None:
        raise ValidationFailed("缺少版本号", field_errors={"version": "缺少版本号，请刷新页面后重试"})
    if version != record.version:
        raise Conflict(
            f"评分标准已被他人修改（您编辑的是第 {version} 版，当前为第 {record.version} 版），"
            "您的修改没有保存；请刷新页面后重新修改",
            extra=_current(record),
        )


def _next_revision(session: Session, *, year: int, sector: str, region_id: int) -> int:
    return (
        session.exec(
            select(func.max(CriteriaSetRecord.revision)).where(
                CriteriaSetRecord.year == year,
                CriteriaSetRecord.sector == sector,
                CriteriaSetRecord.region_id == region_id,
            )
        ).one()
        or 0
    ) + 1


def update_document(
    session: Session,
    *,
    record: CriteriaSetRecord,
    document: dict[str, Any],
    version: int | None,
    actor: audit.Actor,
    section: str | None = None,
) -> CriteriaSetRecord:
    """Replaces a draft's document (validated whole), if nobody changed it since ``version``."""
    require_draft(record)
    check_version(record, version)
    cs = validate_document(document)
    new_doc = dump_document(cs)
    if new_doc == record.document:
        return record  # nothing changed: no new version, no audit event
    changes = diff_documents(record.document, new_doc)
    values: dict[str, Any] = {
        "document": new_doc,
        "title": cs.title,
        "issuing_body": cs.issuer or None,
        "document_number": cs.document_number or None,
        "version": record.version + 1,
        "updated_at": utcnow(),
    }
    if (cs.year, cs.sector) != (record.year, record.sector):
        values |= {
            "year": cs.year,
            "sector": cs.sector,
            "revision": _next_revision(session, year=cs.year, sector=cs.sector, region_id=record.region_id),
        }
    # Compare-and-set on the version: a concurrent writer in between makes this a 409, never a lost update.
    result = session.execute(
        update(CriteriaSetRecord)
        .where(
            col(CriteriaSetRecord.id) == record.id,
            col(CriteriaSetRecord.version) == record.version,
            col(CriteriaSetRecord.status) == "draft",
        )
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(record)
        raise Conflict("评分标准已被他人修改，您的修改没有保存；请刷新页面后重新修改", extra=_current(record))
    old_version = record.version
    session.refresh(record)
    audit.record(
        session,
        actor=actor,
        action="criteria.update",
        entity_type="criteria_set",
        entity_id=record.id,
        old={"version": old_version},
        new={"version": record.version, "section": section, "changes": changes.summaries()},
    )
    return record


def archive(
    session: Session, *, record: CriteriaSetRecord, version: int | None, actor: audit.Actor
) -> CriteriaSetRecord:
    """Archives a published set: it stays readable (and keeps its assessments) but no longer applies."""
    if record.status != "published":
        raise Conflict("只有已发布的评分标准可以归档", extra=_current(record))
    check_version(record, version)
    record.status = "archived"
    record.version += 1
    record.updated_at = utcnow()
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criteria.archive",
        entity_type="criteria_set",
        entity_id=record.id,
        old={"status": "published", "version": record.version - 1},
        new={"status": "archived", "version": record.version},
    )
    return record


def history(session: Session, *, record: CriteriaSetRecord, limit: int = 30) -> list[Any]:
    return audit.for_entity(session, entity_type="criteria_set", entity_id=record.id, limit=limit)


# ---- export -----------------------------------------------------------------------------------
_NUMERIC_KEYS = frozenset(
    {
        "max",
        "step",
        "points",
        "cap",
        "discretionary_max",
        "pass_mark",
        "min",
        "unrated_below",
        "weight",
        "satisfied",
        "basic",
        "unsatisfied",
        "max_share",
        "min_share",
        "floor",
    }
)
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class _Number(str):
    """A decimal written as a plain YAML number (only when it reads back as the same decimal)."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_number(dumper: yaml.SafeDumper, value: _Number) -> yaml.Node:
    tag = "tag:yaml.org,2002:float" if "." in value else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, str(value))


_Dumper.add_representer(_Number, _represent_number)


def _readable(value: Any, key: str = "") -> Any:
    """The canonical dict for YAML: empty values left out, decimals as numbers (both re-import the same)."""
    if isinstance(value, dict):
        return {k: _readable(v, k) for k, v in value.items() if v is not None and v != [] and v != ()}
    if isinstance(value, list):
        return [_readable(v, key) for v in value]
    if key in _NUMERIC_KEYS and isinstance(value, str) and _PLAIN_NUMBER.match(value):
        exact = "." not in value or Decimal(repr(float(value))) == Decimal(value)
        return _Number(value) if exact else value
    return value


def export_yaml(record: CriteriaSetRecord, region: Region | None = None) -> str:
    """The document as YAML (re-imports to the same content hash)."""
    status = {"draft": "草稿", "published": "已发布", "archived": "已归档"}.get(record.status, record.status)
    head = [
        f"# {record.title}",
        f"# {record.year} 年度 · 第 {record.revision} 版 · {status}"
        + (f" · 发布单位：{region.name}" if region else ""),
    ]
    if record.content_hash:
        head.append(f"# 内容指纹（SHA-256）：{record.content_hash}")
    body = yaml.dump(
        _readable(record.document), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
    )
    return "\n".join(head) + "\n" + body


def export_json(record: CriteriaSetRecord) -> str:
    return json.dumps(record.document, ensure_ascii=False, indent=2) + "\n"


def document_yaml(document: dict[str, Any]) -> str:
    """A (possibly invalid) document dict as YAML text for the advanced editor."""
    return yaml.dump(_readable(document), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
