"""The report reads an assessment's JSON columns only for the lines that quote them
(``Stored.quotes_json``): for every other row, ``history.causes`` must say the same without them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import product

from app.rankings import history
from app.reports.service import Stored

STEPS = [
    {"kind": kind, "text": f"{kind} 的说明"}
    for kind in ("band", "prerequisite", "designation", "veto", "weak_cap")
]
QUOTA = ["比例控制：由四星调整为三星", "其他说明"]
STARS = (None, 2, 3, 4)


def _rows() -> list[Stored]:
    rows = []
    for status, vetoed, designated, stars, band, final in product(
        ("final", "reviewed", "scoring"), (False, True), (False, True), STARS, STARS, STARS
    ):
        rows.append(
            Stored(
                id=1,
                branch_id=1,
                status=status,
                total=Decimal("81.50"),
                band_stars=band,
                stars=stars,
                final_stars=final,
                vetoed=vetoed,
                designated=designated,
                extras={"vetoes": ["x"], "designation": {"reason": "r"}},
                explanation=STEPS,
                quota_explanation=QUOTA,
            )
        )
    return rows


def test_rows_that_quote_no_json_give_the_same_causes_without_it() -> None:
    prev = Stored(
        id=0, branch_id=1, status="final", total=Decimal("79.00"), band_stars=3, stars=3, final_stars=3
    )
    checked = quoted = 0
    for row in _rows():
        bare = replace(row, extras={}, explanation=[], quota_explanation=[])
        for before in (prev, None):
            if row.quotes_json():
                quoted += 1
                continue
            checked += 1
            assert history.causes(bare, before) == history.causes(row, before), row
    assert checked and quoted  # both kinds of rows were seen


def test_vetoed_and_designated_rows_always_quote_json() -> None:
    # the special list reads veto and designation steps and details of exactly these rows
    for row in _rows():
        if row.vetoed or row.designated:
            assert row.quotes_json()
