"""The garbage collector is off while a PDF is laid out or a report's data is built, and back on afterwards,
also when they overlap, when one fails, and it stays off when it was off before."""

from __future__ import annotations

import gc
import threading

import pytest
from sqlmodel import select

from app import gcpause
from app.auth.service import scope_for_region
from app.rankings import comparisons
from app.regions.models import Region
from app.reports import service


def test_off_during_a_render_and_on_after() -> None:
    assert gc.isenabled()
    with gcpause.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_renders_keep_it_off_until_the_last_ends() -> None:
    inside, release = threading.Event(), threading.Event()
    states: list[bool] = []

    def other() -> None:
        with gcpause.gc_paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    assert inside.wait(5)
    with gcpause.gc_paused():
        states.append(gc.isenabled())
    states.append(gc.isenabled())  # the other render is still running
    release.set()
    t.join(5)
    assert states == [False, False] and gc.isenabled()


def test_a_failing_render_turns_it_back_on() -> None:
    with pytest.raises(RuntimeError), gcpause.gc_paused():
        raise RuntimeError("layout failed")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with gcpause.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_report_build_runs_with_it_off(monkeypatch, database, rdb) -> None:  # type: ignore[no-untyped-def]
    seen: list[bool] = []
    real = comparisons.children_of_counts

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(comparisons, "children_of_counts", spy)
    region = rdb.exec(select(Region).where(Region.code == "990102")).one()
    scope = scope_for_region(rdb, region.id or 0, None)
    report = service.build(rdb, scope=scope, region=region, year=2026)
    assert seen == [False] and gc.isenabled() and report.ranked_count > 0
