"""app.db.in_write_lane: on SQLite, writing work runs one piece at a time, in a worker thread; on
PostgreSQL, in the thread pool, in parallel."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from app.db import in_write_lane, make_engine


class Probe:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.threads: set[int] = set()
        self.loop_threads: set[int] = set()

    def work(self, value: int) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.get_ident())
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return value * 2


def _run(fn: Any, *args: Any) -> Any:
    """anyio.run in a thread of its own: another test of the session (a browser test's sync Playwright)
    may have left an event loop running in this one."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def main() -> None:
        try:
            out.append(anyio.run(fn, *args))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0]


async def _run_all(engine: Any, probe: Probe, n: int = 6) -> list[int]:
    results: list[int] = [0] * n

    probe.loop_threads.add(threading.get_ident())

    async def one(i: int) -> None:
        results[i] = await in_write_lane(engine, lambda: probe.work(i))

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return results


def test_sqlite_work_runs_one_at_a_time_off_the_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'lane.sqlite3'}")
    probe = Probe()
    assert _run(_run_all, engine, probe) == [0, 2, 4, 6, 8, 10]
    assert probe.most == 1
    assert probe.loop_threads.isdisjoint(probe.threads)  # the work ran off the event loop's thread
    # another event loop gets a lane of its own (a limiter waits on one loop only)
    assert _run(_run_all, engine, probe, 2) == [0, 2]


def test_other_engines_run_in_parallel() -> None:
    probe = Probe()
    engine = SimpleNamespace(dialect=SimpleNamespace(name="postgresql"))
    assert _run(_run_all, engine, probe) == [0, 2, 4, 6, 8, 10]
    assert probe.most > 1


def test_an_error_reaches_the_caller(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'lane.sqlite3'}")

    def fail() -> None:
        raise ValueError("拒绝")

    async def main() -> None:
        with pytest.raises(ValueError, match="拒绝"):
            await in_write_lane(engine, fail)
        assert await in_write_lane(engine, lambda: 7) == 7  # the lane is free again

    _run(main)
