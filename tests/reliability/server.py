"""The real server as a child process (uvicorn on 127.0.0.1), on a throwaway copy of the test database:
SQLite via the online backup API, PostgreSQL via CREATE DATABASE ... TEMPLATE."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import get_engine

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Xingji@2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database_copy(source_url: str, tag: str) -> Iterator[str]:
    """A throwaway copy of the test database; yields its URL and removes it afterwards."""
    if source_url.startswith("sqlite"):
        src = source_url.removeprefix("sqlite:///")
        tmp = Path(tempfile.mkdtemp(prefix=f"xingji-{tag}-"))
        dst = tmp / "copy.sqlite3"
        with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
            a.backup(b)
        try:
            yield f"sqlite:///{dst}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    url = make_url(source_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"xj_{tag}_{os.getpid()}"
    admin = url.set(database="postgres")
    from sqlalchemy import create_engine

    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for attempt in range(20):  # the template must have no other connection at that instant
                get_engine().dispose()
                try:
                    conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
                    break
                except Exception:
                    if attempt == 19:
                        raise
                    time.sleep(0.5)
        yield str(url.set(database=name).render_as_string(hide_password=False)).replace(
            "postgresql+psycopg://", "postgresql://", 1
        )
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


class Server:
    """uvicorn serving app.main:create_app on a free loopback port, restartable, killable."""

    def __init__(self, database_url: str, data_dir: Path, workers_env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_env = workers_env or {}
        self.log = data_dir / "server.log"

    def start(self, timeout: float = 60) -> float:
        """Starts the server; returns the seconds it took to answer /healthz."""
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DATA_DIR": str(self.data_dir),
            "SECRET_KEY": "reliability-test-secret",
            "LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app.main:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx2.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx2.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not start in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush, like a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def login(
    base_url: str, username: str, password: str = PASSWORD, timeout: float = 10
) -> tuple[httpx2.Client, str]:
    """A client logged in on a live server, and its CSRF token."""
    c = httpx2.Client(base_url=base_url, timeout=timeout, follow_redirects=False)
    try:
        page = c.get("/login")
        m = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        assert m
        r = c.post("/login", data={"username": username, "password": password, "csrf_token": m.group(1)})
        assert r.status_code == 303, r.text[:300]
        home = c.get("/")
        meta = re.search(r'<meta name="csrf-token" content="([^"]*)"', home.text)
        assert meta
    except BaseException:
        c.close()
        raise
    return c, meta.group(1)
