"""Province-scale data generator (deterministic): regions, branches, criteria sets and assessments with
full item entries, through the real models' tables and the real scoring engine, with bulk inserts.

    .venv/bin/python -m bench.generate --db sqlite:///bench/out/province.sqlite3            # 100,000 branches
    .venv/bin/python -m bench.generate --db postgresql://postgres@127.0.0.1/xj_bench --scale 0.01

Scale 1.0: 1 province, 16 cities, 120 counties, 1,500 townships, 100,000 branches, 3 years
(2024, 2025 final with quotas applied; 2026 in mixed states). Scoring runs in worker processes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

YEARS = (2024, 2025, 2026)
SECTOR_WEIGHTS = {
    "rural": 50,
    "community": 15,
    "organ": 12,
    "soe": 3,
    "school": 7,
    "nonpublic": 7,
    "social_org": 3,
    "hospital": 3,
}
STATES_2026 = (["final"] * 4) + ["publicized", "reviewed", "submitted", "scoring", "draft"]


def _chunks(seq: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def plan_regions(scale: float) -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, parent_code) for the whole province, deterministic."""
    n_cities = max(1, round(16 * min(1.0, scale * 4))) if scale < 1 else 16
    n_counties = max(1, round(120 * scale))
    n_towns = max(2, round(1500 * scale))
    rows = [("98", "基准省", "province", None)]
    cities = [f"98{c + 1:02d}" for c in range(n_cities)]
    rows += [(c, f"基准{i + 1}市", "city", "98") for i, c in enumerate(cities)]
    counties = []
    for k in range(n_counties):
        city = cities[k % n_cities]
        code = f"{city}{k // n_cities + 1:02d}"
        counties.append(code)
        rows.append((code, f"基准{k + 1}县", "county", city))
    for t in range(n_towns):
        county = counties[t % n_counties]
        code = f"{county}{t // n_counties + 1:03d}"
        rows.append((code, f"基准{t + 1}镇", "township", county))
    return rows


def _score_batch(args: tuple[list[tuple[int, str, float, int, str]], int]) -> list[dict[str, Any]]:
    """Worker: build entries and score them. Returns plain dicts ready for bulk insert."""
    from app.demo.assessments import demo_entries
    from app.scoring import load_library, score

    batch, _year = args
    sets = {}
    out = []
    for branch_id, sector, quality, seed, state in batch:
        cs = sets.get(sector) or sets.setdefault(sector, load_library(sector))
        rng = random.Random(seed)
        fraction = {"draft": 0.0, "scoring": 0.6}.get(state, 1.0)
        entries = demo_entries(cs, rng, quality, fraction=fraction)
        result = score(cs, entries)
        out.append(
            {
                "branch_id": branch_id,
                "state": state,
                "total": result.total,
                "band_stars": result.band_stars,
                "stars": result.stars,
                "vetoed": result.vetoed,
                "designated": result.designated,
                "items_total": len(result.items),
                "items_scored": sum(1 for r in result.items.values() if r.scored),
                "extras": {k: v for k, v in entries.to_json().items() if k != "items"},
                "explanation": [s for s in result.to_json()["explanation"]],
                "entries": [
                    (code, e.to_json(), result.items[code].score) for code, e in entries.items.items()
                ],
                "result_total": result.total,
                "key": str(branch_id),
                "result": result,
            }
        )
    return out


def generate(url: str, scale: float, workers: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import insert, text
    from sqlmodel import Session

    from app.assessments.models import Assessment, ScoreEntry
    from app.audit.service import Actor
    from app.branches.models import Branch
    from app.cli import db_upgrade
    from app.criteria import service as criteria_service
    from app.db import get_engine
    from app.regions.models import Region
    from app.scoring import QuotaCandidate, apply_quotas, dump_document, load_library
    from app.scoring.document import SECTOR_CODES

    t0 = time.perf_counter()
    db_upgrade(url)
    engine = get_engine()
    rng = random.Random(98)
    now = datetime.now(UTC)
    stats: dict[str, Any] = {}
    with Session(engine) as session:
        if session.exec(text("SELECT count(*) FROM region")).one()[0]:  # type: ignore[call-overload]
            raise SystemExit("目标数据库已有数据：请使用空数据库")
        # Regions (bulk, parents before children; ids assigned by us so paths need no round trip).
        plan = plan_regions(scale)
        ids, paths = {}, {}
        region_rows = []
        for i, (code, name, level, parent) in enumerate(plan, start=1):
            ids[code] = i
            paths[code] = (paths[parent] if parent else "/") + code + "/"
            region_rows.append(
                {
                    "id": i,
                    "code": code,
                    "name": name,
                    "level": level,
                    "parent_id": ids[parent] if parent else None,
                    "path": paths[code],
                    "created_at": now,
                }
            )
        for chunk in _chunks(region_rows, 5000):
            session.execute(insert(Region.__table__), chunk)  # type: ignore[attr-defined]
        towns = [c for c, _n, lvl, _p in plan if lvl == "township"]
        n_branches = max(len(towns), round(100_000 * scale))
        sectors = list(SECTOR_WEIGHTS)
        weights = list(SECTOR_WEIGHTS.values())
        branch_rows = []
        for b in range(1, n_branches + 1):
            town = towns[b % len(towns)]
            sector = rng.choices(sectors, weights)[0]
            branch_rows.append(
                {
                    "id": b,
                    "code": f"{town}-{b:06d}",
                    "name": f"中共基准{b}党支部",
                    "sector": sector,
                    "region_id": ids[town],
                    "region_path": paths[town],
                    "secretary_name": f"书记{b % 997}",
                    "member_count": rng.randint(3, 90),
                    "founded_on": date(2000 + b % 24, 1 + b % 12, 1 + b % 28),
                    "status": "active",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for chunk in _chunks(branch_rows, 5000):
            session.execute(insert(Branch.__table__), chunk)  # type: ignore[attr-defined]
        session.commit()
        stats["regions"] = len(region_rows)
        stats["branches"] = n_branches
        # Criteria sets: the standard library, issued by the province, one per sector and year.
        set_ids: dict[tuple[int, str], tuple[int, str]] = {}
        for year in YEARS:
            for sector in SECTOR_CODES:
                doc = dump_document(load_library(sector))
                doc["year"] = year
                record = criteria_service.create_draft(
                    session, document=doc, region_id=1, actor=Actor(None, "基准")
                )
                criteria_service.publish(session, record=record, actor=Actor(None, "基准"))
                set_ids[(year, sector)] = (record.id or 0, record.content_hash or "")
        session.commit()
        quality = {row["id"]: min(0.99, max(0.4, rng.gauss(0.82, 0.085))) for row in branch_rows}
        next_assessment = 1
        n_entries = 0
        for year in YEARS:
            ty = time.perf_counter()
            jobs = []
            for row in branch_rows:
                q = quality[row["id"]] = min(0.99, max(0.4, quality[row["id"]] + rng.gauss(0.01, 0.035)))
                state = "final" if year < YEARS[-1] else rng.choice(STATES_2026)
                jobs.append((row["id"], row["sector"], q, rng.randrange(1 << 30), state))
            by_id = {row["id"]: row for row in branch_rows}
            results: list[dict[str, Any]] = []
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for part in pool.map(_score_batch, [(c, year) for c in _chunks(jobs, 2000)]):
                    results.extend(part)
            # Quotas for final ones: per county and sector.
            groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for r in results:
                if r["state"] == "final":
                    b = by_id[r["branch_id"]]
                    groups[(b["region_path"].split("/")[3], b["sector"])].append(r)
            for (_county, sector), members in groups.items():
                cs = load_library(sector)
                decisions = apply_quotas(cs, [QuotaCandidate(m["key"], m["result"]) for m in members])
                for m in members:
                    d = decisions[m["key"]]
                    m["final_stars"] = d.stars
                    m["quota_explanation"] = list(d.explanation)
            a_rows, e_rows = [], []
            for r in results:
                b = by_id[r["branch_id"]]
                aid = next_assessment
                next_assessment += 1
                set_id, digest = set_ids[(year, b["sector"])]
                a_rows.append(
                    {
                        "id": aid,
                        "branch_id": b["id"],
                        "year": year,
                        "sector": b["sector"],
                        "region_path": b["region_path"],
                        "criteria_set_id": set_id,
                        "criteria_hash": digest,
                        "status": r["state"],
                        "self_total": None,
                        "total": r["total"],
                        "band_stars": r["band_stars"],
                        "stars": r["stars"],
                        "final_stars": r.get("final_stars"),
                        "vetoed": r["vetoed"],
                        "designated": r["designated"],
                        "items_scored": r["items_scored"],
                        "items_total": r["items_total"],
                        "extras": r["extras"],
                        "explanation": r["explanation"],
                        "quota_explanation": r.get("quota_explanation", []),
                        "returned_reason": None,
                        "inspector_id": None,
                        "publicity_id": None,
                        "version": 1,
                        "created_at": now - timedelta(days=365 * (YEARS[-1] - year)),
                        "updated_at": now,
                        "submitted_at": None,
                        "reviewed_at": None,
                        "finalized_at": now if r["state"] == "final" else None,
                    }
                )
                for code, entry, item_score in r["entries"]:
                    e_rows.append(
                        {
                            "assessment_id": aid,
                            "source": "inspector",
                            "item_code": code,
                            "entry": entry,
                            "score": item_score,
                            "note": None,
                            "version": 1,
                            "updated_by_id": None,
                            "updated_at": now,
                        }
                    )
            for chunk in _chunks(a_rows, 2000):
                session.execute(insert(Assessment.__table__), chunk)  # type: ignore[attr-defined]
            for chunk in _chunks(e_rows, 20000):
                session.execute(insert(ScoreEntry.__table__), chunk)  # type: ignore[attr-defined]
            session.commit()
            n_entries += len(e_rows)
            print(
                f"  {year}: {len(a_rows):,} 份评定，{len(e_rows):,} 条录入，{time.perf_counter() - ty:.1f}s",
                file=sys.stderr,
            )
        if engine.dialect.name == "postgresql":
            for table in ("region", "branch", "assessment"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            session.execute(text("ANALYZE"))
        else:
            session.execute(text("ANALYZE"))
        session.commit()
        stats["assessments"] = next_assessment - 1
        stats["score_entries"] = n_entries
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="省级规模基准数据生成")
    parser.add_argument("--db", required=True, help="sqlite:///path or postgresql://...")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 branches")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    if args.db.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(args.db.removeprefix("sqlite:///")) or ".", exist_ok=True)
    stats = generate(args.db, args.scale, args.workers)
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
