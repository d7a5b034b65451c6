"""py-spy attached to the running server during one measurement, and a plain-text summary of where the time
went (collapsed stacks → the functions with the most inclusive and own samples).

    .venv/bin/python -m bench.run --db … --profile compare_city,ndjson     # writes bench/out/profile-*.txt
    .venv/bin/python -m bench.profiles bench/out/profile-sqlite-compare_city.txt
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path


class Nothing:
    def __enter__(self) -> Nothing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class PySpy:
    """`py-spy record --format raw` on a pid for the duration of a `with` block."""

    def __init__(self, py_spy: Path, pid: int, stem: Path, rate: int = 250, *, gil: bool = False) -> None:
        self.py_spy = py_spy
        self.pid = pid
        self.raw = stem.with_suffix(".txt")
        self.summary = stem.with_suffix(".summary.txt")
        self.rate = rate
        # Only the thread holding the GIL: where one process's Python CPU goes. Without it, a thread
        # waiting to get the GIL back after a C call (a query, a commit) is counted at that call.
        self.gil = gil
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PySpy:
        if not self.py_spy.exists():
            print(f"（未找到 {self.py_spy}，跳过剖析）", file=sys.stderr)
            return self
        cmd = [str(self.py_spy), "record", "--pid", str(self.pid), "--rate", str(self.rate)]
        cmd += ["--format", "raw", "--output", str(self.raw), "--nonblocking"] + (
            ["--gil"] if self.gil else []
        )
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import time

        time.sleep(1.0)  # let it attach
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.raw.exists():
            self.summary.write_text(summarize(self.raw), encoding="utf-8")
            print(f"剖析：{self.raw}（摘要 {self.summary}）", file=sys.stderr)


def summarize(raw: Path, top: int = 25) -> str:
    """Top functions by inclusive and by own samples, from py-spy's collapsed stacks (idle threads dropped)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        leaf = frames[-1] if frames else ""
        if any(
            idle in leaf for idle in ("select (selectors", "wait (threading", "_worker (concurrent", "poll (")
        ):
            continue
        n = int(count)
        total += n
        for f in set(frames):
            inclusive[f] += n
        own[leaf] += n
    out = [f"samples (busy): {total}", "", "inclusive:"]
    for f, n in inclusive.most_common(top):
        out.append(f"{100 * n / max(total, 1):5.1f}%  {f}")
    out += ["", "own:"]
    for f, n in own.most_common(top):
        out.append(f"{100 * n / max(total, 1):5.1f}%  {f}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(summarize(Path(arg)))
