"""The branch import benchmark: an XLSX of N branches (openpyxl write-only) imported into an EMPTY database
(regions only) by the product's CLI, `python -m app import branches FILE --region <province>`, timed wall to
wall (the CLI's own start-up included) with the import process's peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import generate

HEADERS = ("支部编码", "支部名称", "领域", "所在区划代码", "书记姓名", "书记电话", "党员人数", "成立日期")


class ImportFailed(Exception):
    pass


def import_url(url: str) -> str:
    """A throwaway database next to the benchmark one: `<file>-import.sqlite3` or `<db>_import`."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(path.stem + '-import.sqlite3')}"
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.set(database=f"{u.database}_import").render_as_string(hide_password=False)


def write_xlsx(path: Path, rows: int) -> tuple[float, str]:
    """The branches of the generator's plan at the scale that gives `rows` branches; returns (scale, province)."""
    from openpyxl import Workbook

    from app.labels import SECTORS

    scale = rows / 100_000
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("支部")
    ws.append(list(HEADERS))
    for b in generate.branch_plan(scale):
        ws.append(
            [
                b["code"],
                b["name"],
                SECTORS[b["sector"]],
                b["town"],
                b["secretary_name"],
                f"138{b['id']:08d}",
                b["member_count"],
                b["founded_on"].isoformat(),
            ]
        )
    wb.save(path)
    return scale, generate.plan_regions(scale)[0][0]


def run(suite: Any, rows: int) -> dict[str, Any]:
    url = import_url(suite.url)
    env = suite.env(url)
    generate.recreate_database(url)
    up = subprocess.run(
        [sys.executable, "-m", "app", "db", "upgrade"],
        env=env,
        cwd=generate_root(),
        capture_output=True,
        text=True,
    )
    if up.returncode != 0:
        raise ImportFailed(f"db upgrade: {up.stderr[-500:]}")
    xlsx = suite.tmp / f"branches-{rows}.xlsx"
    t0 = time.perf_counter()
    scale, province = write_xlsx(xlsx, rows)
    write_s = time.perf_counter() - t0
    _regions(url, scale)
    cmd = [sys.executable, "-m", "app", "import", "branches", str(xlsx), "--region", province]
    log = suite.tmp / "import.log"
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=generate_root(), stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()  # tqdm's progress; read so the pipe never fills
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text(encoding="utf-8", errors="replace").strip()
    if proc.returncode != 0:
        raise ImportFailed(f"exit {proc.returncode}: {output[-300:]} {err.decode(errors='replace')[-300:]}")
    count = _count(url)
    if count != rows:
        raise ImportFailed(f"{count} branches in the database after importing {rows}")
    return {
        "seconds": seconds,
        "rows": rows,
        "xlsx_mib": round(xlsx.stat().st_size / 2**20, 1),
        "xlsx_write_s": round(write_s, 1),
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "output": output.splitlines()[-1] if output else "",
        "database": url,
    }


def generate_root() -> Path:
    return Path(generate.__file__).resolve().parent.parent


def _engine(url: str) -> Any:
    from app.db import make_engine

    return make_engine(url)


def _regions(url: str, scale: float) -> None:
    from sqlmodel import Session

    engine = _engine(url)
    with Session(engine) as session:
        generate.insert_regions(session, scale, datetime.now(UTC))
        session.commit()
    engine.dispose()


def _count(url: str) -> int:
    from sqlalchemy import text

    engine = _engine(url)
    with engine.connect() as c:
        n = int(c.execute(text("SELECT count(*) FROM branch")).scalar_one())
    engine.dispose()
    return n
