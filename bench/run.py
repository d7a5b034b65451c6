"""The benchmark suite: the real server (``python -m app serve``, one uvicorn process on 127.0.0.1) on a
generated database, measured from a separate client process, side by side with the raw query and Datasette.

    .venv/bin/python -m bench.generate --db sqlite:///bench/out/p.sqlite3 --scale 1.0 --recreate
    .venv/bin/python -m bench.run --db sqlite:///bench/out/p.sqlite3
    .venv/bin/python -m bench.run --db postgresql://postgres@127.0.0.1:5432/xj_bench
    .venv/bin/python -m bench.run --db sqlite:///bench/out/p.sqlite3 --quick        # a few requests each

Prints one table (median and p95 per measurement, throughput and memory where they matter, the target and
whether it is met), the ratios of the ranking API to the raw query and to Datasette, and writes the same
figures as JSON (``--out``). Exit code 1 when any request failed. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import (
    Client,
    RssSampler,
    Server,
    Stat,
    cpu_times,
    expect,
    free_port,
    machine,
    measure,
    measure_pair,
    rss_kib,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PASSWORD = "Bench@2026pass"
DATASETTE = ROOT / "bench" / ".venv-datasette" / "bin" / "datasette"
PY_SPY = ROOT / "bench" / ".venv-tools" / "bin" / "py-spy"
GROUPS = ("rankings", "compare", "saves", "ndjson", "reports", "import")
TOKEN_USES = 90  # the API allows a burst of 100 per token (then 20/s): spread requests over tokens

# key → (what is compared, "<=" or ">=", value, how it is written in the table)
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "ranking_fragment": ("median_ms", "<=", 25, "≤ 25 ms median"),
    "api_rankings": ("median_ms", "<=", 40, "≤ 40 ms median"),
    "save_single": ("median_ms", "<=", 15, "≤ 15 ms median"),
    "save_concurrent": ("saves_per_s", ">=", 150, "≥ 150 saves/s"),
    "ndjson": ("assessments_per_s", ">=", 20000, "≥ 20,000 /s"),
    "ndjson_rss": ("peak_rss_mib", "<=", 200, "≤ 200 MB RSS"),
    "report_html": ("median_ms", "<=", 1000, "≤ 1 s"),
    "report_xlsx": ("median_ms", "<=", 2000, "≤ 2 s"),
    "report_pdf": ("median_ms", "<=", 10000, "≤ 10 s"),
    "import": ("median_ms", "<=", 60000, "≤ 60 s"),
}


@dataclass
class Picks:
    """What the run measures, chosen from the data (deterministic)."""

    dialect: str
    year: int  # the latest year with final assessments (rankings, reports, export)
    save_year: int
    province: str
    province_path: str
    city: str
    county: str
    county_path: str
    county_branches: int
    year_assessments: int
    save_targets: list[tuple[int, str]]  # (assessment id, item code) with an inspector entry, status scoring


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url: str = args.db
        self.quick: bool = args.quick
        self.n: int = args.requests or (5 if self.quick else 200)
        self.stats: dict[str, Stat] = {}
        self.info: dict[str, Any] = {}
        workdir = Path(args.workdir) if args.workdir else OUT
        workdir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="xj-bench-", dir=workdir))
        self.server: Server | None = None
        self.tokens: list[str] = []
        self._token_uses = 0
        self.profiles: set[str] = set(filter(None, (args.profile or "").split(",")))

    # -- setup ---------------------------------------------------------------------------------------------

    def env(self, url: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": url or self.url,
                "DATA_DIR": str(self.tmp / "data"),
                "SECRET_KEY": self.secret,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def setup(self) -> None:
        self.secret = secrets.token_hex(32)
        os.environ.update(
            {"DATABASE_URL": self.url, "DATA_DIR": str(self.tmp / "data"), "SECRET_KEY": self.secret}
        )
        from app.db import make_engine

        self.engine = make_engine(self.url, write=False)
        self.picks = self.pick()
        p = self.picks
        print(
            f"数据：{p.dialect}，{p.year} 年度 {p.year_assessments:,} 份评定；最大的县 {p.county}"
            f"（{p.county_branches:,} 个支部），所在市 {p.city}；保存用 {p.save_year} 年度 {len(p.save_targets)} 份评定",
            file=sys.stderr,
        )
        self.users()
        self.make_tokens(4)

    def pick(self) -> Picks:
        from sqlalchemy import text

        with self.engine.connect() as c:
            # The latest year whose assessments are all final (a complete ranking), else the latest year.
            year = (
                c.execute(
                    text(
                        "SELECT max(year) FROM (SELECT year FROM assessment GROUP BY year "
                        "HAVING sum(CASE WHEN status = 'final' THEN 1 ELSE 0 END) = count(*)) y"
                    )
                ).scalar_one()
                or c.execute(text("SELECT max(year) FROM assessment")).scalar_one()
            )
            save_year = c.execute(text("SELECT max(year) FROM assessment")).scalar_one()
            if year is None or save_year is None:
                raise SystemExit("数据库中没有评定：请先运行 python -m bench.generate")
            per_county: Counter[str] = Counter()
            for path, n in c.execute(text("SELECT region_path, count(*) FROM branch GROUP BY region_path")):
                parts = path.strip("/").split("/")
                if len(parts) >= 3:
                    per_county[parts[2]] += int(n)
            county, n_county = sorted(per_county.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            county_path, province_path = (
                c.execute(text("SELECT path FROM region WHERE code = :c"), {"c": county}).scalar_one(),
                c.execute(text("SELECT path FROM region WHERE level = 'province' ORDER BY code"))
                .scalars()
                .first(),
            )
            n_year = c.execute(
                text("SELECT count(*) FROM assessment WHERE year = :y"), {"y": year}
            ).scalar_one()
            rows = c.execute(
                text(
                    "SELECT a.id, min(e.item_code) FROM assessment a "
                    "JOIN score_entry e ON e.assessment_id = a.id AND e.source = 'inspector' "
                    "WHERE a.year = :y AND a.status = 'scoring' AND a.region_path LIKE :p "
                    "GROUP BY a.id ORDER BY a.id LIMIT 40"
                ),
                {"y": save_year, "p": county_path + "%"},
            ).all()
        return Picks(
            dialect=self.engine.dialect.name,
            year=int(year),
            save_year=int(save_year),
            province=province_path.strip("/"),
            province_path=province_path,
            city=county_path.strip("/").split("/")[1],
            county=county,
            county_path=county_path,
            county_branches=n_county,
            year_assessments=int(n_year),
            save_targets=[(int(a), str(code)) for a, code in rows],
        )

    def users(self) -> None:
        """Benchmark users through the product's own CLI (skipped when they exist already)."""
        from sqlalchemy import text

        p = self.picks
        wanted = [
            ("bench_county", "county", p.county),
            ("bench_city", "viewer", p.city),
            ("bench_inspector", "inspector", p.county),
        ]
        with self.engine.connect() as c:
            have = (
                set(c.execute(text("SELECT username FROM user_account")).scalars())
                if self._has("user_account")
                else None
            )
        for username, role, region in wanted:
            if have is not None and username in have:
                continue
            cmd = [sys.executable, "-m", "app", "user", "create", "--username", username, "--role", role]
            cmd += ["--region", region, "--password", PASSWORD]
            r = subprocess.run(cmd, env=self.env(), cwd=ROOT, capture_output=True, text=True)
            if r.returncode != 0 and "已存在" not in (r.stdout + r.stderr):
                raise SystemExit(f"无法创建用户 {username}：{r.stdout}{r.stderr}")

    def _has(self, table: str) -> bool:
        from sqlalchemy import inspect

        return inspect(self.engine).has_table(table)

    def make_tokens(self, count: int) -> None:
        """API tokens of the province, made by the same service function as `python -m app token create`."""
        from app.auth import service as auth_service
        from app.db import session_scope

        with session_scope() as session:
            for _ in range(count):
                secret, _row = auth_service.create_token(
                    session, name=f"bench-{secrets.token_hex(4)}", region_code=self.picks.province
                )
                self.tokens.append(secret)

    def token(self) -> str:
        """A token with burst left (rotates every TOKEN_USES requests; makes more when needed)."""
        idx = self._token_uses // TOKEN_USES
        self._token_uses += 1
        while idx >= len(self.tokens):
            self.make_tokens(4)
        return self.tokens[idx]

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}

    def start_server(self) -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = Server(argv, env=self.env(), log=self.tmp / "server.log", port=port, ready="/healthz")
        self.server = server
        self.info["server_rss_start_mib"] = round(server.rss_kib() / 1024, 1)
        return server

    def stat(self, key: str, label: str) -> Stat:
        s = self.stats[key] = Stat(key, label)
        return s

    # -- measurements ------------------------------------------------------------------------------------

    def run(self) -> None:
        self.setup()
        only = set(filter(None, (self.args.only or "").split(","))) or set(GROUPS)
        server = self.start_server()
        try:
            for group in ("rankings", "compare", "saves", "ndjson", "reports"):
                if group in only:
                    getattr(self, f"bench_{group}")(server)
        finally:
            server.stop()
        if not self.quick and "reports" in only:
            self.bench_report_parts()
        if not self.args.no_import and "import" in only:
            self.bench_import()

    def profiled(self, key: str) -> Any:
        """py-spy attached to the server while `key` is measured (``--profile key,…``)."""
        from bench import profiles

        if key not in self.profiles or self.server is None:
            return profiles.Nothing()
        stem = OUT / f"profile-{self.picks.dialect}-{key}{'-gil' if self.args.profile_gil else ''}"
        return profiles.PySpy(PY_SPY, self.server.pid, stem, gil=self.args.profile_gil)

    def bench_rankings(self, server: Server) -> None:
        p = self.picks
        county = Client(server.port)
        county.login("bench_county", PASSWORD)
        base = f"/rankings?year={p.year}&region={p.county}"
        with self.profiled("ranking_fragment"):
            measure(
                self.stat("ranking_fragment", f"县排名片段 {p.county}（默认领域，第 1 页 50 条，HX）"),
                lambda i: self._fragment(county, f"{base}&page=1"),
                n=self.n,
            )
        measure(
            self.stat("ranking_fragment_all", f"县排名片段 {p.county}（全部领域 sector=all，每页 50，HX）"),
            lambda i: self._fragment(county, f"{base}&sector=all&page=1"),
            n=self.n,
        )
        county.close()

        api = Client(server.port)
        path = f"/api/v1/rankings?year={p.year}&limit=100"
        probe = api.request("GET", path, headers=self.bearer()).json()
        self.info["api_first_codes"] = [r["branch_code"] for r in probe.get("items", [])[:3]]
        self.info["api_total"] = probe.get("total")

        def api_call(i: int, url: str = path) -> str | None:
            r = api.request("GET", url, headers=self.bearer())
            why = expect(r)
            if why:
                return why
            items = r.json()["items"]
            return None if len(items) == min(100, probe["total"]) or "cursor" in url else f"{len(items)} rows"

        with self.profiled("api_rankings"):
            measure(
                self.stat("api_rankings", f"省排名 JSON /api/v1/rankings（{p.province}，每页 100，按总分）"),
                api_call,
                n=self.n,
            )
        deep = self.deep_cursor()
        if deep:
            measure(
                self.stat("api_rankings_deep", "省排名 JSON 游标翻页（第 50% 处的一页 100 条）"),
                lambda i: api_call(i, f"{path}&cursor={urllib.parse.quote(deep)}"),
                n=self.n,
            )
        self.bench_floor()
        if not self.args.no_datasette and self.picks.dialect == "sqlite":
            self.bench_datasette(api_call)
        elif self.picks.dialect != "sqlite":
            s = self.stat("datasette_rankings", "Datasette JSON（同一 SQL）")
            s.available = False
            s.note = "Datasette 只支持 SQLite"
        api.close()

    def _fragment(self, c: Client, url: str) -> str | None:
        r = c.request("GET", url, headers={"HX-Request": "true"})
        why = expect(r)
        if why:
            return why
        return "full page instead of the fragment" if "<html" in r.text[:2000] else None

    def deep_cursor(self) -> str | None:
        """A cursor halfway down the province ranking (the product's own cursor encoding)."""
        from sqlalchemy import text

        from app.api import cursor as cursors

        p = self.picks
        with self.engine.connect() as c:
            row = c.execute(
                text(
                    "SELECT a.total, b.code FROM assessment a JOIN branch b ON b.id = a.branch_id "
                    "WHERE a.year = :y AND a.total IS NOT NULL ORDER BY a.total DESC, b.code "
                    "LIMIT 1 OFFSET :o"
                ),
                {"y": p.year, "o": p.year_assessments // 2},
            ).first()
        return cursors.encode_rank(row[0], row[1]) if row else None

    def _region_sql(self, column: str) -> str:
        """The province filter as the product writes it on each engine (app.regions.paths)."""
        p = self.picks
        if p.dialect == "sqlite":
            end = p.province_path[:-1] + chr(ord(p.province_path[-1]) + 1)
            return f"{column} || '' >= '{p.province_path}' AND {column} || '' < '{end}'"
        return f"{column} LIKE '{p.province_path}%'"

    def ranking_sql(self) -> str:
        """The province ranking's first page as one SQL statement, planned as the product plans it: the page
        read in (year, total) index order, each row's rank as 1 + the rows above it, the size of the ranking
        from the tally. The rows /api/v1/rankings returns (rank with ties, branch, township, total, stars)."""
        p = self.picks
        where = f"a.year = {p.year} AND a.total IS NOT NULL AND {self._region_sql('a.region_path')}"
        return (
            "WITH page AS (SELECT a.id AS assessment_id, b.code AS branch_code, b.name AS branch_name, a.sector, "
            "a.region_path, a.status, a.total, a.stars, a.final_stars "
            f"FROM assessment a JOIN branch b ON b.id = a.branch_id WHERE {where} "
            "ORDER BY a.total DESC, b.code LIMIT 100) "
            "SELECT page.*, "
            f"(SELECT count(*) FROM assessment a WHERE {where} AND a.total > page.total) + 1 AS rank, "
            "t.code AS township_code, t.name AS township_name, "
            f"(SELECT sum(n) FROM assessment_tally x WHERE x.year = {p.year} AND {self._region_sql('x.prefix')}) "
            "AS ranked "
            "FROM page LEFT JOIN region t ON t.path = page.region_path AND t.level = 'township' "
            "ORDER BY page.total DESC, page.branch_code"
        )

    def window_sql(self) -> str:
        """The same page the textbook way: RANK() over every row of the year, and a count of them."""
        p = self.picks
        where = f"a.year = {p.year} AND a.total IS NOT NULL AND {self._region_sql('a.region_path')}"
        return (
            "SELECT r.*, t.code AS township_code, t.name AS township_name, "
            f"(SELECT count(*) FROM assessment a WHERE {where}) AS ranked "
            "FROM (SELECT a.id AS assessment_id, b.code AS branch_code, b.name AS branch_name, a.sector, "
            "a.region_path, a.status, a.total, a.stars, a.final_stars, "
            "rank() OVER (ORDER BY a.total DESC) AS rank "
            f"FROM assessment a JOIN branch b ON b.id = a.branch_id WHERE {where}) r "
            "LEFT JOIN region t ON t.path = r.region_path AND t.level = 'township' "
            "ORDER BY r.total DESC, r.branch_code LIMIT 100"
        )

    def bench_floor(self) -> None:
        driver = "sqlite3" if self.picks.dialect == "sqlite" else "psycopg"
        self.info["ranking_sql"] = self.ranking_sql()
        self._raw(
            "raw_rankings",
            f"同一页排名：原始 SQL（{driver}，进程内，无 HTTP；与产品同一查询计划）",
            self.ranking_sql(),
        )
        self._raw(
            "raw_rankings_window",
            f"同一页排名：教科书式窗口函数 SQL（{driver}，RANK() 全年排序）",
            self.window_sql(),
        )

    def _raw(self, key: str, label: str, sql: str) -> None:
        s = self.stat(key, label)
        if self.picks.dialect == "sqlite":
            import sqlite3

            conn: Any = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        else:
            import psycopg

            conn = psycopg.connect(self.url)
        codes: list[Any] = []

        def call(i: int) -> str | None:
            rows = conn.execute(sql).fetchall()
            if i == 0:
                codes.extend(r[1] for r in rows[:3])
            return None if len(rows) == min(100, self.info.get("api_total") or 100) else f"{len(rows)} rows"

        measure(s, call, n=self.n)
        conn.close()
        if codes != self.info.get("api_first_codes"):
            s.note = f"rows differ from the API: {codes} vs {self.info.get('api_first_codes')}"
            s.fail(s.note)

    def bench_datasette(self, product: Callable[[int], str | None]) -> None:
        """Datasette serving the same page, its requests alternated with the product's (`product`)."""
        s = self.stat(
            "datasette_rankings", "同一页排名：Datasette JSON（同一 SQL，_shape=array；与产品交替请求）"
        )
        if not DATASETTE.exists():
            s.available = False
            s.note = "bench/.venv-datasette 未安装（见 BENCHMARKS.md）"
            return
        paired = self.stat(
            "api_rankings_paired", "同一页排名：产品 /api/v1/rankings（与 Datasette 交替请求）"
        )
        db = Path(self.url.removeprefix("sqlite:///"))
        port = free_port()
        argv = [str(DATASETTE), "serve", str(db), "--host", "127.0.0.1", "--port", str(port)]
        # Datasette's default SQL time limit is 1 s; the province window query must be allowed to finish.
        argv += ["--setting", "sql_time_limit_ms", "60000", "--setting", "max_returned_rows", "1000"]
        ds = Server(
            argv, env=dict(os.environ), log=self.tmp / "datasette.log", port=port, ready="/-/versions.json"
        )
        try:
            c = Client(port)
            url = f"/{db.stem}.json?" + urllib.parse.urlencode({"sql": self.ranking_sql(), "_shape": "array"})

            def call(i: int) -> str | None:
                r = c.request("GET", url)
                why = expect(r)
                if why:
                    return why
                rows = r.json()
                if i == 0 and [x["branch_code"] for x in rows[:3]] != self.info.get("api_first_codes"):
                    return "rows differ from the API"
                return None

            measure_pair(paired, product, s, call, n=self.n)
            s.extra["rss_mib"] = round(rss_kib(ds.pid) / 1024, 1)
            c.close()
        finally:
            ds.stop()

    def bench_compare(self, server: Server) -> None:
        p = self.picks
        city = Client(server.port)
        city.login("bench_city", PASSWORD)
        with self.profiled("compare_city"):
            measure(
                self.stat("compare_city", f"下级对比 /rankings/compare（市 {p.city} 的各县，HX）"),
                lambda i: self._fragment(city, f"/rankings/compare?year={p.year}&region={p.city}"),
                n=self.n,
            )
        measure(
            self.stat("compare_county", f"下级对比 /rankings/compare（县 {p.county} 的各乡镇，HX）"),
            lambda i: self._fragment(city, f"/rankings/compare?year={p.year}&region={p.county}"),
            n=self.n,
        )
        # The "township comparison across a city": every township of the city, across its counties.
        measure(
            self.stat(
                "compare_city_towns", f"乡镇对比 /rankings/compare?by=township（市 {p.city} 的全部乡镇，HX）"
            ),
            lambda i: self._fragment(city, f"/rankings/compare?year={p.year}&region={p.city}&by=township"),
            n=self.n,
        )
        city.close()

    # -- saves -----------------------------------------------------------------------------------------------

    def _saver(self, server: Server, target: tuple[int, str]) -> tuple[Client, dict[str, Any]]:
        c = Client(server.port)
        c.login("bench_inspector", PASSWORD)
        aid, code = target
        r = c.request("GET", f"/assessments/{aid}/items/{code}", headers={"Accept": "application/json"})
        if r.status != 200:
            raise RuntimeError(f"item {aid}/{code}: HTTP {r.status} {r.text[:200]}")
        item = r.json()
        return c, {"aid": aid, "code": code, "entry": item["entry"] or {}, "version": item["version"]}

    def _save(self, c: Client, st: dict[str, Any]) -> str | None:
        body = {"entry": st["entry"], "note": f"基准 {time.time_ns()}", "version": st["version"]}
        r = c.request(
            "PUT",
            f"/assessments/{st['aid']}/items/{st['code']}",
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRF-Token": c.csrf,
            },
        )
        if r.status == 200:
            st["version"] = r.json()["item"]["version"]
            return None
        if r.status == 409:  # someone else's write: take the current version and count it
            with contextlib.suppress(ValueError, KeyError, TypeError):
                st["version"] = r.json()["current"]["version"]
        return f"HTTP {r.status}: {r.text[:200]}"

    def bench_saves(self, server: Server) -> None:
        targets = self.picks.save_targets
        single = self.stat("save_single", "评分项保存 PUT（登录、CSRF、审计、重算；1 个客户端）")
        conc = self.stat("save_concurrent", "评分项保存 PUT（8 个客户端并发，各自的评定）")
        k = self.args.save_clients
        conc.label = f"评分项保存 PUT（{k} 个客户端并发，各自的评定）"
        if len(targets) < k + 1:
            for s in (single, conc):
                s.available = False
                s.note = f"只有 {len(targets)} 份可保存的评定（需要 {k + 1} 份）"
            return
        c, st = self._saver(server, targets[0])
        cpu0 = cpu_times(server.pid)
        with self.profiled("save_single"):
            measure(single, lambda i: self._save(c, st), n=self.n)
        _cpu_per_save(single, cpu0, cpu_times(server.pid), single.n + 2)
        c.close()

        clients = [self._saver(server, t) for t in targets[1 : k + 1]]
        per_client = max(2, self.n // k)
        barrier = threading.Barrier(len(clients) + 1)
        lock = threading.Lock()
        done = [0.0]

        def worker(c: Client, st: dict[str, Any]) -> None:
            for _ in range(2):  # warm-up
                self._save(c, st)
            barrier.wait()
            for _ in range(per_client):
                t0 = time.perf_counter()
                why = self._save(c, st)
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if why:
                        conc.fail(why)
                    else:
                        conc.samples.append(ms)
            with lock:
                done[0] = max(done[0], time.perf_counter())

        threads = [threading.Thread(target=worker, args=cs) for cs in clients]
        for t in threads:
            t.start()
        barrier.wait()  # the warm-ups are done
        cpu0 = cpu_times(server.pid)
        start = time.perf_counter()
        with self.profiled("save_concurrent"):
            for t in threads:
                t.join()
        wall = done[0] - start
        cpu1 = cpu_times(server.pid)
        _cpu_per_save(conc, cpu0, cpu1, len(clients) * per_client)
        if wall > 0:  # cores the server kept busy
            conc.extra["server_cores"] = round((sum(cpu1) - sum(cpu0)) / wall, 2)
        conc.extra["saves_per_s"] = round(conc.n / wall, 1) if wall > 0 else None
        conc.extra["clients"] = len(clients)
        conc.extra["wall_s"] = round(wall, 2)
        for c, _st in clients:
            c.close()

    # -- export -----------------------------------------------------------------------------------------------

    def bench_ndjson(self, server: Server) -> None:
        p = self.picks
        s = self.stat("ndjson", f"NDJSON 全省 {p.year} 年度导出 /api/v1/assessments.ndjson（流式）")
        api = Client(server.port)
        for i in range(1 if self.quick else 2):
            before = server.rss_kib()
            t0 = time.perf_counter()
            lines = size = 0
            with RssSampler(server.pid) as rss, self.profiled("ndjson" if i == 0 else "-"):
                status, chunks = api.stream(
                    f"/api/v1/assessments.ndjson?year={p.year}",
                    headers={"Authorization": f"Bearer {self.token()}"},
                )
                cut = False
                for part in chunks:
                    lines += part.count(b"\n")
                    size += len(part)
                    if time.perf_counter() - t0 > self.args.ndjson_seconds:
                        cut = True  # bounded: the rate is taken over what arrived so far
                        break
            sec = time.perf_counter() - t0
            if cut:
                api.close()
                api = Client(server.port)
                s.note = f"在 {self.args.ndjson_seconds:.0f} 秒处停止读取（收到 {lines:,}/{p.year_assessments:,} 份），速率按已收到的计算"
                s.extra["partial"] = True
            if status != 200 or (lines != p.year_assessments and not cut):
                s.fail(f"HTTP {status}, {lines} lines (expected {p.year_assessments})")
                continue
            s.samples.append(sec * 1000 if not cut else sec * 1000 * p.year_assessments / max(lines, 1))
            s.extra.update(
                {
                    "assessments": lines,
                    "mib": round(size / 2**20, 1),
                    "assessments_per_s": round(max(lines / sec, s.extra.get("assessments_per_s", 0)), 0),
                    "rss_before_mib": round(before / 1024, 1),
                    "peak_rss_mib": round(max(rss.peak / 1024, s.extra.get("peak_rss_mib", 0)), 1),
                }
            )
            if cut:
                break  # one bounded run is enough
        api.close()

    # -- reports -----------------------------------------------------------------------------------------------

    def bench_reports(self, server: Server) -> None:
        p = self.picks
        c = Client(server.port)
        c.login("bench_county", PASSWORD)
        q = f"year={p.year}&region={p.county}"
        probe = c.request("GET", f"/reports/annual.xlsx?{q}")
        if probe.status == 404:
            for key in ("report_html", "report_xlsx", "report_pdf"):
                s = self.stat(key, key)
                s.available = False
                s.note = "not available（路由不存在）"
            return
        few = 2 if self.quick else 5
        if probe.status == 200:  # a county small enough to be made on request
            self.info["report_mode"] = "sync"
            measure(
                self.stat("report_html", f"县年度报告 HTML /reports/annual（{p.county}）"),
                lambda i: self._ok(c, f"/reports/annual?{q}", "<html"),
                n=few,
                warmup=1,
            )
            measure(
                self.stat("report_xlsx", "县年度报告 XLSX /reports/annual.xlsx"),
                lambda i: self._ok(c, f"/reports/annual.xlsx?{q}"),
                n=few,
                warmup=0,
            )
            with self.profiled("report_pdf"):
                measure(
                    self.stat("report_pdf", "县年度报告 PDF /reports/annual.pdf"),
                    lambda i: self._ok(c, f"/reports/annual.pdf?{q}"),
                    n=1 if self.quick else 2,
                    warmup=0,
                )
            c.close()
            return
        # A county above the product's on-request threshold: the report is a background job.
        self.info["report_mode"] = "job"
        measure(
            self.stat("report_page", "县年度报告页 /reports/annual（大县：显示后台任务）"),
            lambda i: self._ok(c, f"/reports/annual?{q}", "<html"),
            n=few,
            warmup=1,
        )
        job = self.stat("report_job", "县年度报告后台任务（汇总 + XLSX + PDF，提交到完成）")
        with self.profiled("report_job"):
            job_id, phases = self._run_job(c, p, job)
        job.extra["phases_s"] = phases
        if job_id is None:
            return
        measure(
            self.stat("report_html_page", "县年度报告 HTML 页（任务完成后 /reports/jobs/{id}/report）"),
            lambda i: self._ok(c, f"/reports/jobs/{job_id}/report", "<html"),
            n=few,
            warmup=1,
        )
        for fmt in ("xlsx", "pdf"):
            measure(
                self.stat(f"report_{fmt}_download", f"县年度报告 {fmt.upper()} 下载（任务生成的文件）"),
                lambda i, f=fmt: self._ok(c, f"/reports/jobs/{job_id}/download/{f}"),
                n=few,
                warmup=0,
            )
        c.close()

    def _ok(self, c: Client, url: str, contains: str | None = None) -> str | None:
        return expect(c.request("GET", url), contains=contains)

    def _run_job(self, c: Client, p: Picks, stat: Stat) -> tuple[int | None, dict[str, float]]:
        body = urllib.parse.urlencode({"year": p.year, "region": p.county, "csrf_token": c.csrf}).encode()
        t0 = time.perf_counter()
        r = c.request(
            "POST",
            "/reports/jobs",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        if r.status not in (200, 202):
            stat.fail(f"HTTP {r.status}: {r.text[:200]}")
            return None, {}
        job = r.json()
        phases: dict[str, float] = {}
        while job["status"] in ("queued", "running"):
            time.sleep(0.05)
            job = c.request(
                "GET", f"/reports/jobs/{job['id']}", headers={"Accept": "application/json"}
            ).json()
            phases.setdefault(job["message"], round(time.perf_counter() - t0, 2))
            if time.perf_counter() - t0 > 1800:
                stat.fail("job still running after 30 min")
                return None, phases
        if job["status"] != "done":
            stat.fail(f"job {job['status']}: {job['message']}")
            return None, phases
        stat.samples.append((time.perf_counter() - t0) * 1000)
        return int(job["id"]), phases

    def bench_report_parts(self) -> None:
        """The same report built in this process, step by step (no HTTP): where the job's time goes."""
        from sqlmodel import Session

        from app.auth.service import scope_for_region
        from app.db import get_read_engine
        from app.regions.models import Region
        from app.reports import documents, pdf, service, xlsx

        p = self.picks
        with Session(get_read_engine()) as session:
            from sqlmodel import select

            region = session.exec(select(Region).where(Region.code == p.county)).one()
            scope = scope_for_region(session, region.id or 0, None)
            t0 = time.perf_counter()
            report = service.build(session, scope=scope, region=region, year=p.year)
            build_ms = (time.perf_counter() - t0) * 1000
        # What the job renders once and stores for the page. The server compiles the template on its first
        # report (~0.15 s, once per process): a warm-up render, then the median of three.
        documents.annual_body(report)
        bodies = []
        for _ in range(3):
            t0 = time.perf_counter()
            documents.annual_body(report)
            bodies.append((time.perf_counter() - t0) * 1000)
        body_ms = sorted(bodies)[1]
        t0 = time.perf_counter()
        xlsx.annual_xlsx(report)
        xlsx_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        pdf.annual_pdf(report)
        pdf_ms = (time.perf_counter() - t0) * 1000
        for key, label, ms in (
            ("report_build_inproc", "报告数据汇总 service.build（进程内，1 次）", build_ms),
            (
                "report_body_inproc",
                "报告正文 HTML 渲染 annual_body（进程内，预热后 3 次的中位数；任务存下供页面使用）",
                body_ms,
            ),
            ("report_xlsx_inproc", "报告 XLSX 生成 annual_xlsx（进程内，1 次）", xlsx_ms),
            ("report_pdf_inproc", "报告 PDF 生成 annual_pdf（进程内，1 次）", pdf_ms),
        ):
            self.stat(key, label).samples.append(ms)
        if self.info.get("report_mode") == "job":
            # The targets are about producing each rendering: data + rendering, measured without HTTP
            # (the HTML: the body the job renders and stores, then the page around it as served).
            page = self.stats.get("report_html_page")
            if page is not None and page.median is not None:
                self.stats["report_html"] = s = Stat(
                    "report_html", "县年度报告 HTML（汇总 + 正文渲染 + 页面，大县经后台任务）"
                )
                s.samples.append(build_ms + body_ms + page.median)
            self.stats["report_xlsx"] = s = Stat("report_xlsx", "县年度报告 XLSX（汇总 + 生成，进程内）")
            s.samples.append(build_ms + xlsx_ms)
            self.stats["report_pdf"] = s = Stat("report_pdf", "县年度报告 PDF（汇总 + 生成，进程内）")
            s.samples.append(build_ms + pdf_ms)

    # -- import ------------------------------------------------------------------------------------------------

    def bench_import(self) -> None:
        from bench import importbench

        rows = self.args.import_rows or (500 if self.quick else 100_000)
        s = self.stat("import", f"支部导入 XLSX {rows:,} 行（空库，python -m app import branches）")
        try:
            result = importbench.run(self, rows)
        except importbench.ImportFailed as exc:
            s.fail(str(exc))
            return
        s.samples.append(result["seconds"] * 1000)
        s.extra.update({k: v for k, v in result.items() if k != "seconds"})

    # -- report --------------------------------------------------------------------------------------------------

    def verdicts(self) -> dict[str, str]:
        out = {}
        for key, (metric, op, value, _text) in TARGETS.items():
            stat = self.stats.get("ndjson" if key == "ndjson_rss" else key)
            if stat is None or not stat.available:
                continue
            got = stat.median if metric == "median_ms" else stat.extra.get(metric)
            if got is None:
                out[key] = "—"
                continue
            ok = got <= value if op == "<=" else got >= value
            out[key] = "met" if ok else "MISSED"
        return out

    def ratios(self) -> dict[str, float | None]:
        api = self.stats.get("api_rankings")
        raw = self.stats.get("raw_rankings")
        ds = self.stats.get("datasette_rankings")
        paired = self.stats.get("api_rankings_paired")

        def ratio(a: Stat | None, b: Stat | None) -> float | None:
            if a is None or b is None or not a.median or not b.median:
                return None
            return round(a.median / b.median, 2)

        # Against Datasette: the product's requests alternated with Datasette's (same machine conditions).
        return {"product/raw": ratio(api, raw), "product/datasette": ratio(paired or api, ds)}

    def results(self) -> dict[str, Any]:
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "db": self.url,
            "dialect": self.picks.dialect,
            "quick": self.quick,
            "requests": self.n,
            "machine": machine(),
            "picks": self.picks.__dict__,
            "info": {k: v for k, v in self.info.items()},
            "stats": [s.as_dict() for s in self.stats.values()],
            "ratios": self.ratios(),
            "verdicts": self.verdicts(),
        }


def table(res: dict[str, Any]) -> str:
    """The plain-text table (also valid Markdown)."""
    verdicts = res["verdicts"]
    lines = [
        "| 测量 | n | 中位数 | p95 | 其他 | 目标 | 结论 |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for s in res["stats"]:
        key = s["key"]
        target = TARGETS.get(key, ("", "", 0, ""))[3]
        verdict = verdicts.get(key, "")
        extra = s["extra"]
        bits = []
        if "saves_per_s" in extra:
            bits.append(f"{extra['saves_per_s']} 次/秒（{extra['clients']} 客户端）")
        if "server_cpu_ms" in extra:
            bits.append(f"服务器 CPU {extra['server_cpu_ms']} ms/次（内核 {extra.get('server_sys_ms')}）")
        if "server_cores" in extra:
            bits.append(f"服务器占用 {extra['server_cores']} 核")
        if "assessments_per_s" in extra:
            bits.append(f"{extra['assessments_per_s']:,.0f} 份/秒，{extra['mib']} MiB")
            bits.append(f"服务器 RSS {extra['rss_before_mib']}→峰值 {extra['peak_rss_mib']} MiB")
            target += "；" + TARGETS["ndjson_rss"][3]
            verdict = f"{verdicts.get('ndjson', '')}；{verdicts.get('ndjson_rss', '')}"
        if extra.get("phases_s"):
            bits.append("阶段 " + "，".join(f"{k}@{v}s" for k, v in extra["phases_s"].items()))
        if "rows" in extra:
            bits.append(
                f"{extra['rows']:,} 行，导入进程峰值 RSS {extra.get('max_rss_mib')} MiB；{extra.get('output', '')}"
            )
        if "rss_mib" in extra:
            bits.append(f"Datasette RSS {extra['rss_mib']} MiB")
        if s["failures"]:
            bits.append(f"失败 {s['failures']}：{s['first_failure'][:80]}")
        if s["note"]:
            bits.append(s["note"])
        if not s["available"]:
            lines.append(
                f"| {s['label']} | – | – | – | {'；'.join(bits) or 'not available'} | {target} | – |"
            )
            continue
        lines.append(
            f"| {s['label']} | {s['n']} | {_ms(s['median_ms'])} | {_ms(s['p95_ms'])} | {'；'.join(bits)} | {target} | {verdict} |"
        )
    r = res["ratios"]
    lines.append("")
    lines.append(
        f"排名 JSON / 原始 SQL = {r['product/raw'] if r['product/raw'] is not None else '—'}×（目标 ≤ 3×）；"
        f"排名 JSON / Datasette = {r['product/datasette'] if r['product/datasette'] is not None else '—（不适用）'}×（目标 ≤ 1×）"
    )
    return "\n".join(lines)


def _ms(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v / 1000:.2f} s" if v >= 10_000 else f"{v:.1f} ms"


def _cpu_per_save(stat: Stat, before: tuple[float, float], after: tuple[float, float], saves: int) -> None:
    """The server's CPU time per save over a measurement (all its threads), and the part of it spent in
    the kernel. With one process, Python's share of it runs one thread at a time (the GIL)."""
    user, system = after[0] - before[0], after[1] - before[1]
    if saves > 0 and user + system > 0:
        stat.extra["server_cpu_ms"] = round((user + system) * 1000 / saves, 2)
        stat.extra["server_sys_ms"] = round(system * 1000 / saves, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="星级党支部评定 基准测试（真实服务器，省级规模数据）")
    parser.add_argument("--db", required=True, help="bench.generate 生成的库：sqlite:///… 或 postgresql://…")
    parser.add_argument("--requests", type=int, default=0, help="每项请求次数（默认 200，--quick 为 5）")
    parser.add_argument("--quick", action="store_true", help="每项少量请求，不跑 Datasette，导入只用 500 行")
    parser.add_argument("--no-datasette", action="store_true")
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--import-rows", type=int, default=0, help="导入测试的行数（默认 100,000）")
    parser.add_argument(
        "--profile", default="", help="用 py-spy 记录这些测量期间的服务器，如 compare_city,ndjson"
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="剖析时只采样持有 GIL 的线程（py-spy --gil）：单进程的 CPU 时间花在哪里，不含等待 GIL 的时间",
    )
    parser.add_argument(
        "--ndjson-seconds",
        type=float,
        default=300,
        help="NDJSON 导出最多读取的秒数（超过则按已收到的计算速率）",
    )
    parser.add_argument("--only", default="", help="只跑这些组（逗号分隔）：" + ",".join(GROUPS))
    parser.add_argument("--save-clients", type=int, default=8, help="并发保存的客户端数（默认 8）")
    parser.add_argument("--workdir", help="临时目录（服务器数据目录、日志、导入文件）所在处，默认 bench/out")
    parser.add_argument("--keep", action="store_true", help="保留临时目录（服务器日志等）")
    parser.add_argument("--out", type=Path, help="结果 JSON（默认 bench/out/results-<方言>.json）")
    args = parser.parse_args(argv)
    if args.quick:
        args.no_datasette = True
    OUT.mkdir(parents=True, exist_ok=True)
    suite = Suite(args)
    suite.run()
    res = suite.results()
    out = args.out or OUT / f"results-{suite.picks.dialect}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(res, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    m = res["machine"]
    print(
        f"机器：{m['nproc']} 核，{m['mem_mib']:,} MiB，{m['cpu']}；负载 {', '.join(f'{x:.2f}' for x in m['loadavg'])}"
    )
    print(f"数据库：{res['dialect']}（{args.db}）；每项 {suite.n} 次请求")
    print(table(res))
    failures = sum(s["failures"] for s in res["stats"])
    print(f"failures: {failures}")
    print(f"结果已写入 {out}")
    if failures or args.keep:
        print(f"服务器日志：{suite.tmp / 'server.log'}")
    else:
        shutil.rmtree(suite.tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
