"""A bounded loopback load test: scorecard saves (the tablet's JSON item save, with versions) and the
county's ranking pages, from Python threads, for a fixed time; prints latency percentiles per operation,
throughput, errors, and the server's RSS over time (is memory flat?).

    .venv/bin/python bench/load.py                      # 60 s on a copy of data/xingji.sqlite3
    .venv/bin/python bench/load.py --seconds 10 --threads 8
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --pid 1234   # an already running server

Without --url it starts its own uvicorn on a free 127.0.0.1 port, on a throwaway copy of the database
(--database-url, default the demo SQLite file; a PostgreSQL URL is used as is — give a throwaway one) and
stops it at the end. Only 127.0.0.1 is ever targeted. Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Xingji@2026"
INSPECTOR = "inspector_qs1"
COUNTY = "county_qs"
RANKING_PAGES = [
    "/rankings",
    "/rankings?page=2",
    "/rankings/heatmap",
    "/rankings/compare",
    "/rankings/charts",
]
EDITABLE = {"draft", "self_submitted", "scoring", "returned"}


@dataclass
class Report:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    rss_kb: list[tuple[float, int]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def percentiles(self, op: str) -> dict[str, float]:
        values = sorted(self.latencies[op])
        if not values:
            return {}

        def pct(p: float) -> float:
            return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000

        return {
            "n": len(values),
            "p50": pct(50),
            "p90": pct(90),
            "p99": pct(99),
            "max": values[-1] * 1000,
            "mean": statistics.fmean(values) * 1000,
        }

    def rss_growth_mb(self) -> float | None:
        """RSS at the end minus RSS after the first fifth of the run (warm-up excluded)."""
        if len(self.rss_kb) < 3:
            return None
        start = self.rss_kb[max(1, len(self.rss_kb) // 5)][1]
        return (self.rss_kb[-1][1] - start) / 1024

    def print(self) -> None:
        print(
            f"\n== load: {self.seconds:.0f} s, {self.requests} requests, {self.requests / self.seconds:.1f} req/s"
        )
        print(
            f"   errors: {len(self.errors)}   save conflicts (409, expected when versions race): {self.conflicts}"
        )
        print(f"   {'operation':<28}{'n':>7}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for op in sorted(self.latencies):
            p = self.percentiles(op)
            print(
                f"   {op:<28}{p['n']:>7}{p['p50']:>10.1f}{p['p90']:>10.1f}{p['p99']:>10.1f}{p['max']:>10.1f}"
            )
        if self.rss_kb:
            series = "  ".join(
                f"{t:>4.0f}s:{kb / 1024:.0f}MB" for t, kb in self.rss_kb[:: max(1, len(self.rss_kb) // 12)]
            )
            print(f"   server RSS: {series}")
            growth = self.rss_growth_mb()
            if growth is not None:
                print(f"   RSS growth after warm-up: {growth:+.1f} MB")
        for e in self.errors[:10]:
            print(f"   ! {e}")


def _login(base_url: str, username: str) -> tuple[httpx2.Client, str]:
    c = httpx2.Client(base_url=base_url, timeout=30, follow_redirects=False)
    page = c.get("/login")
    m = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    if not m:
        raise RuntimeError("no login form")
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": m.group(1)})
    if r.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {r.status_code}")
    meta = re.search(r'<meta name="csrf-token" content="([^"]*)"', c.get("/").text)
    if not meta:
        raise RuntimeError("no CSRF token on the home page")
    return c, meta.group(1)


def _targets(base_url: str) -> list[tuple[int, str]]:
    """(assessment id, item code) pairs the inspector may edit, one per worker (no self-inflicted 409s)."""
    c, _ = _login(base_url, INSPECTOR)
    out: list[tuple[int, str]] = []
    try:
        rows = c.get("/inspect", headers={"Accept": "application/json"}).json()["items"]
        for row in rows:
            if row["assessment_id"] and row["status"] in EDITABLE:
                card = c.get(
                    f"/assessments/{row['assessment_id']}/score", headers={"Accept": "application/json"}
                )
                if card.status_code != 200 or not card.json().get("editable"):
                    continue
                for item in card.json()["items"]:
                    if item["section"] == "category":
                        out.append((row["assessment_id"], item["item_code"]))
            if len(out) >= 64:
                break
    finally:
        c.close()
    if not out:
        raise RuntimeError("no editable assessment in the inspector's township")
    return out


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run(base_url: str, *, seconds: float, threads: int = 4, pid: int | None = None, seed: int = 1) -> Report:
    """Runs the load against a server on 127.0.0.1 and returns the report."""
    host = urlsplit(base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests target the loopback interface only")
    report = Report(seconds=seconds)
    targets = _targets(base_url)
    lock = threading.Lock()
    stop = threading.Event()
    t0 = time.monotonic()

    def record(op: str, started: float, response: httpx2.Response | None, error: str | None = None) -> None:
        with lock:
            report.latencies[op].append(time.monotonic() - started)
            if error:
                report.errors.append(f"{op}: {error}")
            elif response is not None and response.status_code == 409:
                report.conflicts += 1
            elif response is not None and response.status_code != 200:
                report.errors.append(f"{op}: {response.status_code} {response.text[:120]!r}")

    def saver(n: int) -> None:
        rnd = random.Random(seed * 1000 + n)
        aid, code = targets[n % len(targets)]
        c, csrf = _login(base_url, INSPECTOR)
        try:
            version = int(
                c.get(f"/assessments/{aid}/items/{code}", headers={"Accept": "application/json"}).json()[
                    "version"
                ]
                or 0
            )
            i = 0
            while not stop.is_set():
                i += 1
                started = time.monotonic()
                try:
                    r = c.put(
                        f"/assessments/{aid}/items/{code}",
                        json={
                            "entry": {},
                            "note": f"负载测试 {n}-{i}-{rnd.random():.6f}",
                            "version": version,
                        },
                        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
                    )
                except httpx2.HTTPError as exc:
                    record("save item (PUT json)", started, None, repr(exc))
                    continue
                record("save item (PUT json)", started, r)
                if r.status_code == 200:
                    version = int(r.json()["item"]["version"])
                elif r.status_code == 409:
                    version = int((r.json().get("current") or {}).get("version") or 0)
        finally:
            c.close()

    def reader(n: int) -> None:
        rnd = random.Random(seed * 2000 + n)
        c, _ = _login(base_url, COUNTY)
        try:
            while not stop.is_set():
                path = rnd.choice(RANKING_PAGES)
                started = time.monotonic()
                try:
                    r = c.get(path)
                except httpx2.HTTPError as exc:
                    record(f"GET {path}", started, None, repr(exc))
                    continue
                record(f"GET {path}", started, r)
        finally:
            c.close()

    def sampler() -> None:
        while not stop.is_set():
            if pid is not None:
                kb = _rss_kb(pid)
                if kb is not None:
                    with lock:
                        report.rss_kb.append((time.monotonic() - t0, kb))
            stop.wait(max(0.25, min(2.0, seconds / 30)))

    workers = [threading.Thread(target=saver, args=(n,), daemon=True) for n in range((threads + 1) // 2)]
    workers += [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(threads // 2)]
    workers.append(threading.Thread(target=sampler, daemon=True))
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join(timeout=60)
    report.seconds = time.monotonic() - t0
    return report


# -- a server of our own ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    env.setdefault("SECRET_KEY", "load-test-secret")
    log = (data_dir / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited; see {data_dir / 'server.log'}")
        try:
            if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def _copy_sqlite(url: str, into: Path) -> str:
    src = url.removeprefix("sqlite:///")
    dst = into / "load.sqlite3"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return f"sqlite:///{dst}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=4, help="half save scores, half read rankings")
    parser.add_argument("--url", help="an already running server on 127.0.0.1 (default: start one)")
    parser.add_argument("--pid", type=int, help="that server's pid, for its RSS")
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{ROOT / 'data' / 'xingji.sqlite3'}",
        help="copied first when SQLite; a PostgreSQL URL is used as is (give a throwaway database)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 600 or not 1 <= args.threads <= 64:
        parser.error("--seconds must be in (0, 600] and --threads in [1, 64]")
    if args.url:
        report = run(args.url, seconds=args.seconds, threads=args.threads, pid=args.pid)
        report.print()
        return 1 if report.errors else 0
    tmp = Path(tempfile.mkdtemp(prefix="xingji-load-"))
    try:
        url = args.database_url
        if url.startswith("sqlite"):
            if not Path(url.removeprefix("sqlite:///")).exists():
                raise SystemExit(f"no database at {url}: run `make run` once, or pass --database-url")
            url = _copy_sqlite(url, tmp)
        # The copy may predate the newest migrations: bring it to head first (as `make run` does).
        env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp), "SECRET_KEY": "load-test-secret"}
        subprocess.run([sys.executable, "-m", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True)
        proc, base = start_server(url, tmp)
        try:
            report = run(base, seconds=args.seconds, threads=args.threads, pid=proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        report.print()
        return 1 if report.errors else 0
    finally:
        if os.environ.get("KEEP_LOAD_DIR"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
