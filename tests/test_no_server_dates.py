"""Calendar days come from app.clock (Beijing time): no module asks the server's own clock for a date."""

from __future__ import annotations

import re
from pathlib import Path

import app

# date.today(), datetime.now() / utcnow() / today() without a time zone, time.localtime()
SERVER_DATES = re.compile(r"\bdate\.today\(\)|\bdatetime\.(?:now\(\)|utcnow\(|today\()|\btime\.localtime\(")


def test_no_module_reads_the_server_calendar() -> None:
    root = Path(app.__file__).parent
    found = [
        f"{path.relative_to(root.parent)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SERVER_DATES.search(line)
    ]
    assert found == [], "use app.clock (today(), this_year(), local_date()) instead:\n" + "\n".join(found)
