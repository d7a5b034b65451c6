"""Online backups of the SQLite database and the evidence files, and their restore.

SQLite: the sqlite3 backup API copies a consistent snapshot while the service keeps running (WAL
readers and writers are not blocked for long). Evidence files are content-addressed (named by their
SHA-256), so copying them after the database snapshot can only copy more, never a half-written file
that the snapshot refers to. PostgreSQL: use pg_dump / pg_restore (see README); `backup` refuses.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DB_NAME = "xingji.sqlite3"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot be done, with a Chinese message."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    tables: dict[str, int]
    evidence_files: int


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        raise BackupError("在线备份命令仅适用于 SQLite；PostgreSQL 请使用 pg_dump / pg_restore（见 README）")
    return Path(database_url.removeprefix("sqlite:///"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def table_counts(db_file: Path) -> dict[str, int]:
    """Row counts per table (a quick comparison between a database and its backup)."""
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def backup(*, database_url: str, evidence_dir: Path, target_root: Path, progress=None) -> BackupInfo:  # type: ignore[no-untyped-def]
    """Writes <target_root>/<UTC timestamp>/ with the database snapshot, evidence files and a manifest."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"数据库文件不存在：{source}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = target_root / stamp
    target.mkdir(parents=True, exist_ok=False)
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target / DB_NAME))
    try:
        src.backup(
            dst,
            pages=1024,
            progress=(lambda status, remaining, total: progress(total - remaining, total))
            if progress
            else None,
        )
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"备份文件完整性检查失败：{check}")
    finally:
        dst.close()
        src.close()
    files = 0
    if evidence_dir.exists():
        for path in sorted(evidence_dir.rglob("*")):
            if path.is_file():
                rel = path.relative_to(evidence_dir)
                out = target / "evidence" / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)
                files += 1
    counts = table_counts(target / DB_NAME)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": DB_NAME,
        "database_sha256": _sha256(target / DB_NAME),
        "tables": counts,
        "evidence_files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return BackupInfo(target, counts, files)


def restore(*, source_dir: Path, database_url: str, evidence_dir: Path, force: bool = False) -> BackupInfo:
    """Restores a backup made by `backup` (stop the service first). Verifies the manifest checksum."""
    manifest_path = source_dir / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"不是有效的备份目录（缺少 {MANIFEST}）：{source_dir}")
    manifest = json.loads(manifest_path.read_text())
    db_backup = source_dir / manifest["database"]
    if _sha256(db_backup) != manifest["database_sha256"]:
        raise BackupError("备份数据库文件校验失败（SHA-256 不一致），已停止恢复")
    target = sqlite_path(database_url)
    if target.exists() and not force:
        raise BackupError(f"目标数据库已存在：{target}；确认覆盖请加 --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    tmp = target.with_suffix(".restoring")
    shutil.copy2(db_backup, tmp)
    tmp.replace(target)  # atomic on one filesystem
    files = 0
    ev_src = source_dir / "evidence"
    if ev_src.exists():
        for path in ev_src.rglob("*"):
            if path.is_file():
                out = evidence_dir / path.relative_to(ev_src)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)
                files += 1
    return BackupInfo(target, table_counts(target), files)
