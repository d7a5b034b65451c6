"""The county annual report, timed in-process part by part (read-only; no server, no writes).

    DATABASE_URL=sqlite:///bench/out/p.sqlite3 .venv/bin/python -m bench.report_parts --county 980102
    … --profile build|page|pdf|xlsx   # cProfile of one part, top functions by cumulative time

Parts: ``build`` (service.build), ``body`` (the page body the report job renders once and stores,
documents.annual_body), ``page`` (what /reports/jobs/{id}/report does after auth: the page context and
the page around the stored body), ``xlsx`` (annual_xlsx), ``pdf`` (annual_pdf). The targets are
build + body + page ≤ 1 s, build + XLSX ≤ 2 s, build + PDF ≤ 10 s (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--county", required=True)
    ap.add_argument("--year", type=int)
    ap.add_argument("--repeat", type=int, default=1, help="runs of build and page (the median is shown)")
    ap.add_argument("--skip", default="", help="comma-separated parts not to run (e.g. pdf)")
    ap.add_argument("--profile", default="", help="one part to run under cProfile")
    ap.add_argument("--pdf-out", default="", help="write the PDF here")
    args = ap.parse_args()
    assert os.environ.get("DATABASE_URL"), "set DATABASE_URL"

    from markupsafe import Markup
    from sqlmodel import Session, select

    from app.auth.service import scope_for_region
    from app.db import get_read_engine
    from app.regions.models import Region
    from app.reports import documents, pdf, service, xlsx
    from app.web.templating import env

    skip = set(filter(None, args.skip.split(",")))
    times: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        prof = cProfile.Profile() if args.profile == name else None
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        out = fn()
        if prof:
            prof.disable()
        times.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
            prof = None
            args.profile = ""
        return out

    with Session(get_read_engine()) as session:
        region = session.exec(select(Region).where(Region.code == args.county)).one()
        scope = scope_for_region(session, region.id or 0, None)
        year = args.year or service.default_year(session, scope=scope)
        report = None
        for _ in range(args.repeat):
            report = timed("build", lambda: service.build(session, scope=scope, region=region, year=year))
        assert report is not None
        request = SimpleNamespace(state=SimpleNamespace())

        def page(body: Markup) -> str:
            # What /reports/jobs/{id}/report renders after auth: the page around the stored body.
            reg = service.report_region(session, scope=scope, code=report.region.code)
            ctx: dict[str, Any] = {
                "request": request,
                "user": None,
                "scope": scope,
                "csrf_token": "x",
                "year": report.year,
                "region": reg,
                "years": service.rankings.years_present(session, scope=scope) or [year],
                "regions": service.report_regions(session, scope=scope),
                "publicities": service.publicities(session, scope=scope, year=report.year),
                "large": False,
                "job": None,
                "downloads": {"pdf": "/x.pdf", "xlsx": "/x.xlsx"},
                "body_html": body,
            }
            return env.get_template("reports/annual.html").render(ctx)

        if "page" not in skip:
            html = ""
            for _ in range(args.repeat):
                body = Markup(timed("body", lambda: documents.annual_body(report)))
                html = timed("page", lambda b=body: page(b))
            print(f"page: {len(html) / 1024:.0f} KiB of HTML")
    if "xlsx" not in skip:
        timed("xlsx", lambda: xlsx.annual_xlsx(report))
    if "pdf" not in skip:
        body = timed("pdf", lambda: pdf.annual_pdf(report))
        print(f"pdf: {len(body) / 1024:.0f} KiB")
        if args.pdf_out:
            with open(args.pdf_out, "wb") as f:
                f.write(body)

    def med(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    m = {k: med(v) for k, v in times.items()}
    print(f"county {args.county} {year}: {report.ranked_count} ranked; load {os.getloadavg()[0]:.2f}")
    for k, v in times.items():
        print(f"  {k:6s} median {m[k]:8.1f} ms  runs {', '.join(f'{x:.0f}' for x in v)}")
    b = m.get("build", 0.0)
    if "page" in m:
        print(f"  build + body + page {b + m['body'] + m['page']:8.1f} ms  (target ≤ 1000 ms)")
    for part, target in (("xlsx", 2000), ("pdf", 10000)):
        if part in m:
            print(f"  build + {part:5s} {b + m[part]:8.1f} ms  (target ≤ {target} ms)")


if __name__ == "__main__":
    main()
