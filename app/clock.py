"""The calendar the users live on: China Standard Time, whatever the server's own time zone is.

A county's "today" changes at midnight in Beijing, not in UTC: from 00:00 to 08:00 Beijing time a UTC
server's `date.today()` is still yesterday, so a visit recorded this morning would be refused as "in the
future" and a publicity period would end a day late. Every date the product reasons about — today, the
current year, the day a timestamp fell on — comes from here. Timestamps stay UTC in the database
(`db_types.UTCDateTime`); this module only turns instants into calendar days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, as a Beijing wall-clock time (aware)."""
    return datetime.now(LOCAL_TZ)


def today() -> date:
    """Today's date in Beijing."""
    return now().date()


def this_year() -> int:
    return today().year


def local_date(instant: datetime) -> date:
    """The Beijing calendar day of an instant; a naive value is taken to be UTC (as stored)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(LOCAL_TZ).date()
