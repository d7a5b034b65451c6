"""The garbage collector is off while a PDF is laid out and back on afterwards, also when renders overlap,
when one fails, and it stays off when it was off before."""

from __future__ import annotations

import gc
import threading

import pytest

from app.reports import pdf


def test_off_during_a_render_and_on_after() -> None:
    assert gc.isenabled()
    with pdf.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_renders_keep_it_off_until_the_last_ends() -> None:
    inside, release = threading.Event(), threading.Event()
    states: list[bool] = []

    def other() -> None:
        with pdf.gc_paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    assert inside.wait(5)
    with pdf.gc_paused():
        states.append(gc.isenabled())
    states.append(gc.isenabled())  # the other render is still running
    release.set()
    t.join(5)
    assert states == [False, False] and gc.isenabled()


def test_a_failing_render_turns_it_back_on() -> None:
    with pytest.raises(RuntimeError), pdf.gc_paused():
        raise RuntimeError("layout failed")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with pdf.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
