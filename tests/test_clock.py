"""Calendar days are Beijing days, whatever time zone the server runs in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app import clock


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (datetime(2026, 11, 29, 15, 59, tzinfo=UTC), date(2026, 11, 29)),
        (datetime(2026, 11, 29, 16, 0, tzinfo=UTC), date(2026, 11, 30)),  # midnight in Beijing
        (datetime(2026, 12, 31, 16, 30), date(2027, 1, 1)),  # naive = UTC, as SQLite returns it
        (datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=8))), date(2026, 1, 1)),
        (datetime(2025, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), date(2026, 1, 1)),
    ],
)
def test_local_date(instant: datetime, day: date) -> None:
    assert clock.local_date(instant) == day


def test_today_is_the_beijing_day_not_the_server_day() -> None:
    before = datetime.now(UTC)
    got = clock.today()
    after = datetime.now(UTC)
    assert got in {clock.local_date(before), clock.local_date(after)}
    assert clock.this_year() == got.year
    assert clock.now().utcoffset() == timedelta(hours=8)
