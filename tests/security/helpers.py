"""Shared by the security and reliability suites: route discovery and a whole-database checksum.

Routes are DISCOVERED from the application (``app.routes``, through included routers and the mounted
``/api/v1`` sub-application), so a route added by any domain is covered without editing these tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import Engine, inspect, text
from starlette.routing import Mount

from app.db import get_engine

PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class RouteInfo:
    """One (path, method) the application answers."""

    path: str  # the full path format, e.g. "/api/v1/branches/{code}"
    method: str
    name: str
    endpoint: Callable[..., Any] | None
    api_route: APIRoute | None = field(default=None, compare=False, hash=False)

    @property
    def is_api(self) -> bool:
        """The machine contract (bearer tokens, no cookies, no CSRF)."""
        return self.path.startswith("/api/v1")

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def query_params(self) -> set[str]:
        if self.api_route is None:
            return set()
        names: set[str] = set()
        for q in _flat_query(self.api_route.dependant):
            model = getattr(q, "type_", None) or getattr(getattr(q, "field_info", None), "annotation", None)
            fields = getattr(model, "model_fields", None)
            if isinstance(fields, dict) and fields:  # a Query() model: its fields are the parameters
                names.update(f.alias or n for n, f in fields.items())
            else:
                names.add(q.alias or q.name)
        return names

    @property
    def module(self) -> str:
        return getattr(self.endpoint, "__module__", "") or ""

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _flat_query(dependant: Any) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _flat_query(sub)


def iter_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[RouteInfo]:
    """Every (path, method) reachable from a route list, recursing into mounts that have routes."""
    for rc in iter_route_contexts(list(routes)):
        effective = rc._effective_route
        if isinstance(effective, Mount):
            sub = getattr(effective.app, "routes", None)
            if sub is not None:
                yield from iter_routes(sub, prefix + effective.path)
            continue
        original = rc.original_route
        for method in sorted(rc.methods or []):
            if method == "HEAD":
                continue
            yield RouteInfo(
                path=prefix + (rc.path or ""),
                method=method,
                name=rc.name or "",
                endpoint=rc.endpoint,
                api_route=original if isinstance(original, APIRoute) else None,
            )


def app_routes(app: Any) -> list[RouteInfo]:
    """The application's routes (deduplicated, in match order)."""
    seen: dict[tuple[str, str], RouteInfo] = {}
    for r in iter_routes(app.routes):
        seen.setdefault((r.path, r.method), r)
    return list(seen.values())


def static_mounts(app: Any) -> list[str]:
    return [m.path for m in app.routes if isinstance(m, Mount) and getattr(m.app, "routes", None) is None]


# -- the whole-database checksum --------------------------------------------------------------------------

# Columns a request legitimately writes while reading (documented in docs/reliability.md):
#   user_session.last_seen_at  the idle timer, refreshed at most once a minute by any request
#   api_token.last_used_at     refreshed at most once per interval by any API call
EXCLUDED_COLUMNS = {
    "user_session": {"last_seen_at"},
    "api_token": {"last_used_at"},
}
# Audit events a request legitimately appends: a login and an account lock after failed logins.
EXCLUDED_AUDIT_ACTIONS = ("user.login", "user.locked")
# Login attempts legitimately count failures on the account (and clear them on success).
LOGIN_COLUMNS = {"user_account": {"failed_logins", "locked_until", "updated_at"}}


def _where(table: str) -> str:
    if table != "audit_event":
        return ""
    acts = ", ".join(f"'{a}'" for a in EXCLUDED_AUDIT_ACTIONS)
    return f" WHERE action NOT IN ({acts})"


def _table_digest(conn: Any, dialect: str, table: str, columns: list[str], pk: list[str]) -> str:
    """The table's rows, in primary-key order, serialised and hashed by the database itself (one string
    per table: ~50x faster than fetching 100k rows into Python)."""
    order = ", ".join(f'"{c}"' for c in (pk or columns))
    if dialect == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        sql = (
            f"SELECT md5(coalesce(string_agg(row({cols})::text, '|' ORDER BY {order}), '')) "
            f'FROM "{table}"{_where(table)}'
        )
        return str(conn.execute(text(sql)).scalar_one())
    cols = " || ',' || ".join(f'quote("{c}")' for c in columns)
    sql = f"SELECT group_concat(r, '|') FROM (SELECT {cols} AS r FROM \"{table}\"{_where(table)} ORDER BY {order})"
    value = conn.execute(text(sql)).scalar_one() or ""
    return hashlib.sha256(value.encode()).hexdigest()


def db_checksum(*, engine: Engine | None = None, ignore_login: bool = False) -> str:
    """A SHA-256 over `SELECT *` of every table, ordered by primary key.

    Excludes EXCLUDED_COLUMNS and the audit events in EXCLUDED_AUDIT_ACTIONS (and, with ignore_login,
    the login-failure counters of user_account), which a request legitimately writes.
    """
    return table_checksums(engine=engine, ignore_login=ignore_login)["*"]


def _layout(engine: Engine) -> list[tuple[str, list[str], list[str]]]:
    """(table, columns, primary key) of every table, reflected once per engine."""
    key = id(engine)
    if key not in _LAYOUTS:
        insp = inspect(engine)
        _LAYOUTS[key] = [
            (
                t,
                [c["name"] for c in insp.get_columns(t)],
                list(insp.get_pk_constraint(t).get("constrained_columns") or []),
            )
            for t in sorted(insp.get_table_names())
        ]
    return _LAYOUTS[key]


_LAYOUTS: dict[int, list[tuple[str, list[str], list[str]]]] = {}


def table_checksums(*, engine: Engine | None = None, ignore_login: bool = False) -> dict[str, str]:
    """Per-table checksums (key "*" is the whole database): a failing test can say which table moved."""
    engine = engine or get_engine()
    excluded = {k: set(v) for k, v in EXCLUDED_COLUMNS.items()}
    if ignore_login:
        for k, v in LOGIN_COLUMNS.items():
            excluded.setdefault(k, set()).update(v)
    whole = hashlib.sha256()
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for table, all_columns, pk in _layout(engine):
            columns = [c for c in all_columns if c not in excluded.get(table, set())]
            out[table] = _table_digest(conn, engine.dialect.name, table, columns, pk)
            whole.update(f"{table}={out[table]};".encode())
    out["*"] = whole.hexdigest()
    return out


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in set(before) | set(after) if t != "*" and before.get(t) != after.get(t))


# -- clients -----------------------------------------------------------------------------------------------

DEMO_PASSWORD = "Xingji@2026"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def user_client(app: Any, username: str, password: str = DEMO_PASSWORD) -> tuple[Any, str]:
    """A TestClient logged in as `username` that reports server errors as responses (a 500 is a finding,
    not a crash of the test) and does not follow redirects; returns (client, csrf token)."""
    from starlette.testclient import TestClient

    c = TestClient(app, base_url="http://testserver", raise_server_exceptions=False, follow_redirects=False)
    page = c.get("/login")
    token = _CSRF_FIELD.search(page.text)
    assert token, "the login form has a CSRF field"
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
    assert r.status_code == 303, (username, r.status_code, r.text[:300])
    home = c.get("/")
    meta = _CSRF_META.search(home.text)
    assert meta and meta.group(1), "pages carry the session's CSRF token"
    return c, meta.group(1)


def anon_client(app: Any, **kw: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(
        app, base_url="http://testserver", raise_server_exceptions=False, follow_redirects=False, **kw
    )
