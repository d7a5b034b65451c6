"""A small keep-alive HTTP client (stdlib only: its own cost stays far below the server's), the real server
as a subprocess, and the statistics of a measurement."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive connection with its own cookies (a browser tab, a tablet, an API consumer)."""

    def __init__(self, port: int, *, timeout: float = 900) -> None:
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def close(self) -> None:
        self.conn.close()

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Any:
        h = {"Host": f"127.0.0.1:{self.port}", **headers}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                k, _, v = pair.partition("=")
                if v in ("", '""'):
                    self.cookies.pop(k.strip(), None)
                else:
                    self.cookies[k.strip()] = v.strip()
        return resp

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        resp = self._send(method, path, body, headers or {})
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def stream(
        self, path: str, *, headers: dict[str, str] | None = None, chunk: int = 1 << 20
    ) -> tuple[int, Iterator[bytes]]:
        """A GET read in chunks (for the NDJSON export): (status, chunks). Each chunk is a view of one
        reused buffer, valid until the next is read: the client reads a gigabyte into the same memory,
        and its CPU (on the same two cores) is not charged to the server's rate."""
        resp = self._send("GET", path, None, headers or {})

        def chunks() -> Iterator[bytes]:
            buffer = bytearray(chunk)
            while True:
                n = resp.readinto(buffer)  # fills the buffer across HTTP chunks, short only at the end
                if not n:
                    return
                yield buffer if n == chunk else bytes(buffer[:n])  # type: ignore[misc]

        return resp.status, chunks()

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def post_form(self, path: str, data: dict[str, str]) -> Response:
        body = urllib.parse.urlencode(data).encode()
        return self.request(
            "POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    def login(self, username: str, password: str) -> None:
        """The browser's way in: the login form's CSRF field, POST /login, then the page's CSRF token."""
        page = self.get("/login")
        m = CSRF_FIELD.search(page.text)
        if not m:
            raise RuntimeError(f"login page without a CSRF field (HTTP {page.status})")
        r = self.post_form("/login", {"username": username, "password": password, "csrf_token": m.group(1)})
        if r.status != 303:
            raise RuntimeError(f"login of {username} failed: HTTP {r.status} {r.text[:200]}")
        home = self.get("/")
        meta = CSRF_META.search(home.text)
        if not meta:
            raise RuntimeError("no CSRF meta tag after login")
        self.csrf = meta.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    port: int, path: str, *, timeout: float = 120, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status < 500:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer on 127.0.0.1:{port}{path} after {timeout:.0f}s")


class Server:
    """A subprocess serving HTTP on 127.0.0.1 (the product or Datasette), stopped by its own pid."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path, port: int, ready: str) -> None:
        self.port = port
        self.log = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_http(port, ready, proc=self.proc)
        except Exception:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU time a process has used so far (s), from /proc/<pid>/stat; zeros when unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


def rss_kib(pid: int) -> int:
    """VmRSS of a process (KiB) from /proc/<pid>/status; 0 when unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples a process's VmRSS every `every` seconds in a thread; `.peak` is the highest (KiB)."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid = pid
        self.every = every
        self.peak = rss_kib(pid)
        self.start_kib = self.peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))


# -- statistics ---------------------------------------------------------------------------------------------


@dataclass
class Stat:
    """Latencies (ms) of one measurement, its failures and free-form extras (throughput, memory…)."""

    key: str
    label: str
    samples: list[float] = field(default_factory=list)
    failures: int = 0
    first_failure: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    available: bool = True

    def fail(self, why: str) -> None:
        self.failures += 1
        if not self.first_failure:
            self.first_failure = why[:300]

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def p95(self) -> float | None:
        if not self.samples:
            return None
        if len(self.samples) == 1:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "n": self.n,
            "median_ms": _r(self.median),
            "p95_ms": _r(self.p95),
            "min_ms": _r(min(self.samples)) if self.samples else None,
            "failures": self.failures,
            "first_failure": self.first_failure,
            "extra": self.extra,
            "note": self.note,
            "available": self.available,
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def measure(
    stat: Stat,
    call: Callable[[int], str | None],
    *,
    n: int,
    warmup: int = 2,
    max_seconds: float = 60.0,
    min_n: int = 5,
) -> Stat:
    """Runs `call(i)` `warmup` times unrecorded, then up to `n` times (stopping after `max_seconds` once
    `min_n` samples exist), recording the wall time of each call in ms. `call` returns None when the answer
    was right, else the reason it was not (counted as a failure, its time not recorded)."""
    for i in range(warmup):
        _timed(stat, call, -1 - i)
    start = time.perf_counter()
    for i in range(n):
        _timed(stat, call, i)
        if time.perf_counter() - start > max_seconds and len(stat.samples) >= min_n:
            stat.note = (stat.note + f" stopped after {max_seconds:.0f}s").strip()
            break
    return stat


def measure_pair(
    a: Stat, call_a: Callable[[int], str | None], b: Stat, call_b: Callable[[int], str | None], *, n: int
) -> None:
    """`call_a` and `call_b` in alternation, each timed into its own stat: two servers answering the same
    question are compared under the same machine conditions (measured one after the other, a minute
    apart, the load of a shared two-core machine moved their ratio by ±30 %)."""
    pairs = ((a, call_a), (b, call_b))
    for i in range(2):
        for stat, call in pairs:
            _timed(stat, call, -1 - i)
    for i in range(n):
        for stat, call in pairs if i % 2 == 0 else pairs[::-1]:
            _timed(stat, call, i)


def _timed(stat: Stat, call: Callable[[int], str | None], i: int) -> None:
    """One call: its wall time recorded in ms (i >= 0), or its failure (a negative i is a warm-up)."""
    t0 = time.perf_counter()
    why = call(i)
    ms = (time.perf_counter() - t0) * 1000
    if why:
        stat.fail(why if i >= 0 else f"warm-up: {why}")
    elif i >= 0:
        stat.samples.append(ms)


def expect(r: Response, status: int = 200, *, contains: str | None = None) -> str | None:
    """None when the response is right, else a short reason."""
    if r.status != status:
        return f"HTTP {r.status} (expected {status}): {r.text[:200]}"
    if contains is not None and contains not in r.text:
        return f"answer lacks {contains!r}"
    return None


def machine() -> dict[str, Any]:
    """The machine the figures were taken on, and its load right now."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "mem_mib": mem, "loadavg": os.getloadavg()}
