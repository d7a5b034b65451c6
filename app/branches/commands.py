"""`python -m app import …` and `python -m app export …`: the register in and out from the command line.

Runs as the system actor, with the scope of the region given (imports of regions may omit it: whole tree),
through the same validation as the web import. Prints the error report or the counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlmodel import Session

from app.audit import service as audit
from app.auth.scope import Scope


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the `import` and `export` subcommands."""
    imp = sub.add_parser("import", help="从 Excel/CSV 导入").add_subparsers(dest="what", required=True)
    ib = imp.add_parser("branches", help="导入支部（按支部编码新建或更新，全部成功才写入）")
    ib.add_argument("file", type=Path)
    ib.add_argument("--region", required=True, help="区划代码：只允许该区划范围内的支部")
    ir = imp.add_parser("regions", help="导入行政区划（按区划代码新建或更新名称，全部成功才写入）")
    ir.add_argument("file", type=Path)
    ir.add_argument("--region", help="区划代码：只允许该区划范围内的区划（默认不限）")
    exp = sub.add_parser("export", help="导出为 Excel/CSV").add_subparsers(dest="what", required=True)
    eb = exp.add_parser("branches", help="导出支部台账（按扩展名 .xlsx 或 .csv）")
    eb.add_argument("--region", required=True, help="区划代码")
    eb.add_argument("--status", choices=["active", "merged", "dissolved", "all"], default="all")
    eb.add_argument("-o", "--output", type=Path, required=True)


def _scope(session: Session, code: str) -> Scope:
    from app.auth.service import scope_for_region
    from app.regions import service as regions_service

    region = regions_service.get_by_code(session, code=code)
    return scope_for_region(session, region.id or 0, None)


def run(args: argparse.Namespace) -> int:
    """Runs `import …` or `export …`; returns the exit code (2 when the file was refused)."""
    from tqdm import tqdm

    from app.branches import exports, imports, tabular
    from app.branches.schemas import BranchFilters
    from app.db import session_scope
    from app.regions import imports as region_imports

    if args.cmd == "export":
        with session_scope() as session:
            scope = _scope(session, args.region)
            filters = BranchFilters(status=None if args.status == "all" else args.status)
            cols, rows = exports.rows(session, scope=scope, filters=filters, with_phone=True)
            out: Path = args.output
            body = exports.to_csv(cols, rows) if out.suffix.lower() == ".csv" else exports.to_xlsx(cols, rows)
        out.write_bytes(body)
        print(f"已导出 {len(rows)} 个支部到 {out}。")
        return 0

    path: Path = args.file
    if not path.is_file():
        print(f"错误：文件不存在：{path}", file=sys.stderr)
        return 2
    if path.stat().st_size > tabular.MAX_BYTES:
        print(f"错误：文件超过 {tabular.MAX_BYTES // 1024 // 1024} MB 上限", file=sys.stderr)
        return 2
    table = tabular.read_table(path.read_bytes(), filename=path.name)
    try:
        with (
            session_scope() as session,
            tqdm(total=2 * len(table.rows), desc="校验并写入", unit="行", file=sys.stderr) as bar,
        ):
            if args.what == "branches":
                result = imports.import_branches(
                    session,
                    scope=_scope(session, args.region),
                    actor=audit.SYSTEM,
                    table=table,
                    filename=path.name,
                    progress=bar.update,
                )
            else:
                result = region_imports.import_regions(
                    session,
                    scope=_scope(session, args.region) if args.region else None,
                    actor=audit.SYSTEM,
                    table=table,
                    filename=path.name,
                    progress=bar.update,
                )
    except tabular.ImportRejected as exc:
        print(f"错误：{exc.detail}", file=sys.stderr)
        print("行号\t列\t问题", file=sys.stderr)
        for e in exc.errors:
            print(f"{e.row}\t{e.column}\t{e.message}", file=sys.stderr)
        return 2
    print(
        f"导入完成：共 {result.total} 行，新增 {result.created}，更新 {result.updated}，未变 {result.unchanged}。"
    )
    return 0
