"""python -m app …: db upgrade, demo seed, user create, token create/list/revoke, serve."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from app.config import BASE_DIR, get_settings


def db_upgrade(url: str | None = None) -> None:
    """Runs the Alembic migrations up to head."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.attributes["skip_logging"] = True
    if url:
        cfg.attributes["url"] = url
    command.upgrade(cfg, "head")


def demo_seed(*, if_empty: bool = False) -> bool:
    """Seeds the demo region; returns False when skipped because data exists."""
    from tqdm import tqdm

    from app.db import session_scope
    from app.demo import seed

    with session_scope() as session:
        if seed.is_seeded(session):
            if if_empty:
                return False
            raise SystemExit("数据库中已有数据；演示数据只能写入空数据库")
        with tqdm(
            total=sum(10 + i % 3 for i in range(len(seed.COUNTIES))),
            desc="行政区划与支部",
            unit="乡镇",
            file=sys.stderr,
        ) as bar:
            n = seed.seed_regions_and_branches(session, progress=bar.update)
        seed.seed_users(session)
        extend = getattr(seed, "seed_assessments", None)
        if extend is not None:
            extend(session)
    print(f"演示数据已写入：{n} 个支部。")
    return True


def print_demo_logins() -> None:
    from app.demo import seed

    print(f"演示账号（密码均为 {seed.DEMO_PASSWORD}）：")
    for login in seed.demo_logins():
        print(f"  {login.username:<15} {login.role:<10} {login.note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="星级党支部评定 命令行工具")
    sub = parser.add_subparsers(dest="cmd", required=True)

    db = sub.add_parser("db", help="数据库").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="执行迁移到最新版本")
    db.add_parser("refresh-entries", help="按评分录入重建每份评定存储的录入 JSON 文本（直接改库修数后执行）")

    demo = sub.add_parser("demo", help="演示数据").add_subparsers(dest="action", required=True)
    seed_p = demo.add_parser("seed", help="写入演示数据")
    seed_p.add_argument("--if-empty", action="store_true", help="数据库已有数据时跳过")
    demo.add_parser("logins", help="列出演示账号")

    user = sub.add_parser("user", help="用户").add_subparsers(dest="action", required=True)
    uc = user.add_parser("create", help="新建用户")
    uc.add_argument("--username", required=True)
    uc.add_argument("--name", default="")
    uc.add_argument("--role", required=True, choices=["admin", "county", "inspector", "branch", "viewer"])
    uc.add_argument("--region", required=True, help="区划代码")
    uc.add_argument("--branch", help="支部编码（支部书记账号）")
    uc.add_argument("--password", help="不填则交互输入")

    token = sub.add_parser("token", help="API 令牌").add_subparsers(dest="action", required=True)
    tc = token.add_parser("create", help="新建令牌（只显示一次）")
    tc.add_argument("--name", required=True)
    tc.add_argument("--region", required=True, help="区划代码")
    token.add_parser("list", help="列出令牌")
    tr = token.add_parser("revoke", help="吊销令牌")
    tr.add_argument("id", type=int)

    from app.branches import commands as branch_commands

    branch_commands.add_parsers(sub)  # import / export of regions and branches

    crit = sub.add_parser("criteria", help="评分标准").add_subparsers(dest="action", required=True)
    ci = crit.add_parser("import", help="导入评分标准文档（YAML/JSON）为草稿")
    ci.add_argument("file", help="YAML 或 JSON 文件")
    ci.add_argument("--region", required=True, help="发布单位的区划代码（省、市或县）")
    ci.add_argument("--publish", action="store_true", help="导入后立即发布")
    ce = crit.add_parser("export", help="导出评分标准文档")
    ce.add_argument("id", type=int, help="评分标准编号")
    ce.add_argument("-o", "--output", required=True, help="输出文件（.json 为 JSON，其余为 YAML）")

    bk = sub.add_parser("backup", help="在线备份 SQLite 数据库与佐证材料")
    bk.add_argument("-o", "--output", help="备份根目录（默认 data/backups）")
    rs = sub.add_parser("restore", help="从备份恢复（请先停止服务）")
    rs.add_argument("source", help="备份目录")
    rs.add_argument("--force", action="store_true", help="覆盖已有数据库")

    serve = sub.add_parser("serve", help="启动服务")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--reload", action="store_true")

    args = parser.parse_args(argv)
    from app.errors import DomainError

    try:
        return _dispatch(args)
    except DomainError as exc:
        detail = "；".join(f"{k}：{v}" for k, v in exc.field_errors.items())
        print(f"错误：{exc.detail}{'（' + detail + '）' if detail else ''}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd == "db" and args.action == "refresh-entries":
        from app.api.ndjson import store_built_entries
        from app.db import session_scope

        db_upgrade()
        with session_scope() as session:
            store_built_entries(session)
        print("已按评分录入重建所有评定的录入文本。")
    elif args.cmd == "db":
        db_upgrade()
        print("数据库已迁移到最新版本。")
    elif args.cmd == "demo" and args.action == "seed":
        db_upgrade()
        if not demo_seed(if_empty=args.if_empty):
            print("数据库已有数据，跳过演示数据。")
        print_demo_logins()
    elif args.cmd == "demo":
        print_demo_logins()
    elif args.cmd == "user":
        from app.auth import service
        from app.db import session_scope

        password = args.password or getpass.getpass("密码：")
        with session_scope() as session:
            user = service.create_user(
                session,
                username=args.username,
                display_name=args.name or args.username,
                role=args.role,
                region_code=args.region,
                password=password,
                branch_code=args.branch,
            )
            print(f"已创建用户 {user.username}（{user.role}）。")
    elif args.cmd == "token":
        _token(args)
    elif args.cmd in ("import", "export"):
        from app.branches import commands as branch_commands

        return branch_commands.run(args)
    elif args.cmd == "criteria":
        return _criteria(args)
    elif args.cmd in ("backup", "restore"):
        return _backup(args)
    elif args.cmd == "serve":
        import uvicorn

        settings = get_settings()
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            reload=args.reload,
            proxy_headers=True,
            # app.web.middleware.RequestLog writes one line per request (with its time and request id);
            # uvicorn's access line said the same again, at a formatting cost on every request.
            access_log=False,
        )
    return 0


def _token(args: argparse.Namespace) -> None:
    from app.auth import service
    from app.db import session_scope

    with session_scope() as session:
        if args.action == "create":
            secret, row = service.create_token(session, name=args.name, region_code=args.region)
            print(f"令牌 #{row.id}「{row.name}」已创建。请立即保存，它不会再次显示：")
            print(secret)
        elif args.action == "list":
            for t in service.list_tokens(session):
                state = "已吊销" if t.revoked_at else "有效"
                used = t.last_used_at.isoformat() if t.last_used_at else "从未使用"
                print(f"#{t.id}\t{t.name}\t{t.prefix}…\t区域#{t.region_id}\t{state}\t最近使用：{used}")
        else:
            service.revoke_token(session, token_id=args.id)
            print(f"令牌 #{args.id} 已吊销。")


def _criteria(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.audit.service import Actor
    from app.criteria import service
    from app.db import session_scope

    actor = Actor(id=None, label="命令行")
    try:
        with session_scope() as session:
            if args.action == "import":
                text = Path(args.file).read_text(encoding="utf-8-sig")
                region = service.issuer_by_code(session, code=args.region)
                record = service.import_text(session, text=text, region=region, actor=actor)
                if args.publish:
                    service.publish(session, record=record, actor=actor)
                state = f"已发布，内容指纹 {record.content_hash}" if args.publish else "草稿"
                print(
                    f"已导入评分标准 #{record.id}：{record.title}（{record.year} 年度，第 {record.revision} 版，{state}）"
                )
            else:
                record = service.get(session, criteria_set_id=args.id)
                out = Path(args.output)
                json_out = out.suffix.lower() == ".json"
                out.write_text(
                    service.export_json(record) if json_out else service.export_yaml(record), encoding="utf-8"
                )
                print(f"已导出评分标准 #{record.id} 到 {out}")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"错误：无法读写文件（{exc}）", file=sys.stderr)
        return 2
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.ops import backup as ops

    settings = get_settings()
    url = settings.resolved_database_url()
    try:
        if args.cmd == "backup":
            root = Path(args.output) if args.output else settings.data_dir / "backups"
            info = ops.backup(database_url=url, evidence_dir=settings.evidence_dir, target_root=root)
            print(
                f"备份完成：{info.path}（{sum(info.tables.values())} 行数据，{info.evidence_files} 个佐证文件）"
            )
        else:
            info = ops.restore(
                source_dir=Path(args.source),
                database_url=url,
                evidence_dir=settings.evidence_dir,
                force=args.force,
            )
            print(
                f"恢复完成：{info.path}（{sum(info.tables.values())} 行数据，{info.evidence_files} 个佐证文件）"
            )
    except ops.BackupError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0
