"""Background jobs for large reports: one Job row per distinct request, one worker thread per process.

* ``submit`` creates or reuses the job of a request: the key is the sha256 of the canonical params (kind,
  year, region, the requesting scope and a fingerprint of the data), so two requests for the same report
  share one job (queued, running or done); a failed job, or a done job whose files are gone, is replaced.
  The lookup and the insert run in one transaction that holds the write lock (SQLite: BEGIN IMMEDIATE
  on the write engine; PostgreSQL: a transaction-level advisory lock on the key), so concurrent requests,
  even from several processes, cannot both insert.
* The worker claims a job with a conditional UPDATE (queued → running), builds the report once and writes
  report.json (the data: JSON clients), report-body-<hash>.html (the page's body, rendered once: a county of
  3,000 branches is ~1.4 MB of HTML, which cost more to decode and render on every view than the rest of
  the page), report.pdf and report.xlsx under ``<DATA_DIR>/reports/<job id>/``, updating ``progress`` as
  it goes, then marks the job done — or failed, with a Chinese message.
* State lives in the database: a reload shows the same job; ``startup()`` (call it when the server
  starts; the job routes also call it lazily on first use) marks jobs left ``running`` by a crash as
  failed and queues the ``queued`` ones again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import shutil
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from app.auth.scope import Scope
from app.config import get_settings
from app.db import get_engine, get_read_engine
from app.db_types import utcnow
from app.errors import NotFound
from app.jobs.models import Job
from app.regions.models import Region
from app.reports import documents, figures, pdf, service, xlsx
from app.reports.schemas import AnnualReport, JobPublic

log = logging.getLogger("app.reports.jobs")

KIND = "annual_report"
FORMATS = ("pdf", "xlsx")
LIVE = ("queued", "running", "done")
INTERRUPTED = "服务重启，任务被中断，请重新生成"
# Part of the job key: bump it when what a report contains changes, so files made before are not reused.
# 2: the PDF carries the star list (名单) instead of the full ranking (which stays in the XLSX and page).
# 3: the PDF prints downgrades, the rectification list and the lowest categories by township as paragraphs.
EDITION = 3


# The files whose source makes a report's page body: a stored body is used only while they are unchanged
# (its name carries their hash), else the page is rendered from report.json. A change elsewhere that alters
# the body (a filter, a label) needs EDITION bumped.
BODY_TEMPLATES = ("reports/_annual_body.html", "reports/_macros.html")
BODY_MODULES = (documents, figures)


@lru_cache(maxsize=1)
def body_name() -> str:
    """The file name of a job's stored page body, by the hash of the sources that make it."""
    digest = hashlib.sha256()
    for name in BODY_TEMPLATES:
        digest.update(documents.env.loader.get_source(documents.env, name)[0].encode())  # type: ignore[union-attr]
    for module in BODY_MODULES:
        digest.update(Path(str(module.__file__)).read_bytes())
    return f"report-body-{digest.hexdigest()[:12]}.html"


# -- params and keys -----------------------------------------------------------------------------------


def canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def params_key(params: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(params).encode()).hexdigest()


def report_params(session: Session, *, scope: Scope, region: Region, year: int) -> dict[str, Any]:
    """The canonical params of an annual report request (what makes two requests the same)."""
    return {
        "kind": KIND,
        "edition": EDITION,
        "year": year,
        "region": region.code,
        "scope": scope.region_path,
        "stamp": service.data_stamp(session, scope=scope, region=region, year=year),
    }


def job_dir(job: Job) -> Path:
    return get_settings().data_dir / "reports" / str(job.id)


def file_of(job: Job, fmt: str) -> Path:
    return job_dir(job) / f"report.{fmt}"


def body_of(job: Job) -> Path:
    return job_dir(job) / body_name()


def _files_present(job: Job) -> bool:
    return all(file_of(job, f).exists() for f in (*FORMATS, "json"))


def _lock(session: Session, key: str) -> None:
    """Serialises job creation for one key on PostgreSQL (SQLite's write transaction already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})


def find(session: Session, *, key: str) -> Job | None:
    """The newest live job (queued, running, or done with its files) of a key."""
    stmt = (
        select(Job)
        .where(Job.kind == KIND, Job.params_key == key, col(Job.status).in_(LIVE))
        .order_by(col(Job.id).desc())
    )
    for job in session.exec(stmt):
        if job.status != "done" or _files_present(job):
            return job
    return None


def submit(
    session: Session, *, scope: Scope, region: Region, year: int, user_id: int | None
) -> tuple[Job, bool]:
    """Creates the job of a report request or returns the live one: (job, created). Flushes only."""
    params = report_params(session, scope=scope, region=region, year=year)
    key = params_key(params)
    _lock(session, key)
    existing = find(session, key=key)
    if existing is not None:
        return existing, False
    job = Job(kind=KIND, params_key=key, params=params, requested_by_id=user_id, message="排队等待生成")
    session.add(job)
    session.flush()
    return job, True


def existing_for(session: Session, *, scope: Scope, region: Region, year: int) -> Job | None:
    """The live job of this request, if any (read-only; used by the report page)."""
    params = report_params(session, scope=scope, region=region, year=year)
    return find(session, key=params_key(params))


def get(session: Session, *, scope: Scope, job_id: int) -> Job:
    """A report job the scope may see: it was made for a scope inside this one (404 otherwise)."""
    job = session.get(Job, job_id)
    if job is None or job.kind != KIND or not scope.contains_path(str(job.params.get("scope", ""))):
        raise NotFound("报告任务不存在或不在您的管辖范围内")
    return job


def public(session: Session, job: Job) -> JobPublic:
    code = str(job.params.get("region", ""))
    region = session.exec(select(Region).where(Region.code == code)).first()
    return JobPublic(
        id=job.id or 0,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        message=job.message,
        year=int(job.params.get("year", 0)),
        region_code=code,
        region_name=region.name if region else code,
        formats=[f for f in FORMATS if job.status == "done" and file_of(job, f).exists()],
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def load_report(job: Job) -> AnnualReport:
    path = file_of(job, "json")
    if job.status != "done" or not path.exists():
        raise NotFound("报告尚未生成完成")
    return AnnualReport.model_validate_json(path.read_bytes())


def load_body(job: Job) -> Markup | None:
    """The page body the job rendered (escaped when it was rendered from the report), or None when the job
    has none of the current sources (made before bodies were stored, or before the body templates last
    changed: the page is then rendered from report.json)."""
    path = body_of(job)
    if job.status != "done" or not path.exists():
        return None
    text = path.read_text("utf-8")
    return Markup(text) if text else None  # our own autoescaped rendering, read from DATA_DIR


# -- running a job -------------------------------------------------------------------------------------


def _set(job_id: int, **values: Any) -> None:
    with Session(get_engine()) as session:
        session.execute(update(Job).where(col(Job.id) == job_id).values(updated_at=utcnow(), **values))
        session.commit()


def _claim(job_id: int) -> bool:
    with Session(get_engine()) as session:
        done = session.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == "queued")
            .values(status="running", progress=1, message="正在生成", updated_at=utcnow())
        )
        session.commit()
        return bool(getattr(done, "rowcount", 0))


def _scope_of(session: Session, path: str) -> Scope:
    region = session.exec(select(Region).where(Region.path == path)).first()
    if region is None:
        raise NotFound("任务的管辖范围已不存在")
    return Scope(region_id=region.id or 0, region_path=region.path, region_name=region.name)


def run(job_id: int) -> None:
    """Runs one queued job to the end (done or failed). Safe to call from any thread."""
    if not _claim(job_id):
        return
    last = [0.0]

    def progress(pct: int, what: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.3 or pct >= 90:
            last[0] = now
            _set(job_id, progress=max(1, min(pct, 99)), message=what)

    try:
        with Session(get_read_engine()) as session:
            job = session.get(Job, job_id)
            assert job is not None
            params = dict(job.params)
            scope = _scope_of(session, str(params["scope"]))
            region = service.report_region(session, scope=scope, code=str(params["region"]))
            report = service.build(
                session,
                scope=scope,
                region=region,
                year=int(params["year"]),
                progress=lambda pct, what: progress(int(pct * 0.6), what),
            )
        out = job_dir(job)
        out.mkdir(parents=True, exist_ok=True)
        progress(62, "生成 Excel")
        _write(out / "report.xlsx", xlsx.annual_xlsx(report))
        progress(70, "生成 PDF（排版需要一些时间）")
        _write(out / "report.pdf", pdf.annual_pdf(report))
        progress(96, "保存结果")
        _write(body_of(job), documents.annual_body(report).encode())
        _write(out / "report.json", report.model_dump_json().encode())
        _set(job_id, status="done", progress=100, message="已生成", result_path=str(out))
    except Exception as exc:  # the job must end in a state, whatever happened
        log.exception("report job %s failed", job_id)
        detail = getattr(exc, "detail", None) or type(exc).__name__
        _set(job_id, status="failed", message=f"生成失败：{detail}"[:500])


def _write(path: Path, body: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


# -- the worker ----------------------------------------------------------------------------------------


class Worker:
    """One daemon thread that runs queued jobs one at a time (a report is CPU-bound)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="report-jobs", daemon=True)
                self.thread.start()

    def enqueue(self, job_id: int) -> None:
        self.start()
        self.queue.put(job_id)

    def _loop(self) -> None:
        while True:
            job_id = self.queue.get()
            try:
                run(job_id)
            except Exception:  # pragma: no cover - run() records its own failures
                log.exception("report worker: job %s", job_id)
            finally:
                self.queue.task_done()


worker = Worker()
_started = threading.Event()
_start_lock = threading.Lock()


def recover() -> tuple[int, list[int]]:
    """Marks jobs left running (by a crash or a restart) as failed; returns (count, ids still queued)."""
    with Session(get_engine()) as session:
        result = session.execute(
            update(Job)
            .where(col(Job.kind) == KIND, col(Job.status) == "running")
            .values(status="failed", message=INTERRUPTED, updated_at=utcnow())
        )
        queued = list(
            session.exec(select(Job.id).where(Job.kind == KIND, Job.status == "queued").order_by(col(Job.id)))
        )
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0), [int(i) for i in queued if i is not None]


def startup() -> None:
    """Server start hook: recover interrupted jobs, start the worker, queue what is waiting. Idempotent."""
    with _start_lock:
        if _started.is_set():
            return
        failed, queued = recover()
        if failed:
            log.warning("marked %d interrupted report job(s) as failed", failed)
        worker.start()
        for job_id in queued:
            worker.queue.put(job_id)
        _started.set()


def ensure_started() -> None:
    if not _started.is_set():
        startup()


def enqueue(job: Job) -> None:
    """Hands a committed job to the worker."""
    ensure_started()
    if job.id is not None and job.status == "queued":
        worker.enqueue(job.id)


def remove_files(job: Job) -> None:
    shutil.rmtree(job_dir(job), ignore_errors=True)
