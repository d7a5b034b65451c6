"""Writes across the region boundary: every state-changing route (discovered from the app), sent WITH a
valid CSRF token by 青山县's county staff and inspector at 白河县's rows (branch, assessment, item,
evidence, criteria draft, weak listing, publicity), is refused (403/404, or a 4xx for the input) and
changes nothing: a forged score or state from outside the region never lands."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.security.conftest import World
from tests.security.helpers import app_routes, changed_tables, table_checksums, user_client

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that act on the caller's own session or scope, not on a row named in the request.
OWN = {"POST /login", "POST /logout"}


def target_url(path: str, world: World) -> str:
    bh = world["bh"]
    values = {
        "code": bh.branch_code,
        "assessment_id": str(bh.assessment_id),
        "item_code": bh.item_code,
        "evidence_id": str(bh.evidence_id),
        "criteria_set_id": str(bh.criteria_set_id),
        "listing_id": str(bh.listing_id),
        "job_id": str(bh.job_id),
        "publicity_id": str(world.publicity_shiqiao),  # 石桥县's: outside 青山县 too
        "section": "meta",
        "action": "disable",
        "user_id": "4",  # county_bh
        "token_id": "1",
    }
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: values.get(m.group(1), "1"), path)


def bodies(world: World) -> list[dict[str, Any]]:
    """What a forger would send: the other county's branch/region in every field a form may read."""
    bh = world["bh"]
    form = {
        "branch": bh.branch_code,
        "branch_code": bh.branch_code,
        "into": bh.branch_code,
        "code": bh.branch_code + "X",
        "region": bh.county,
        "region_code": bh.township,
        "name": "越权写入测试",
        "sector": "rural",
        "year": "2026",
        "version": "1",
        "reason": "越权测试",
        "stars_after": "5",
        "event": "other",
        "occurred_on": "2026-01-01",
        "visited_on": "2026-01-01",
        "dissolved_on": "2020-01-01",
        "ids": str(bh.assessment_id),
        "assessment_ids": str(bh.assessment_id),
        "source": str(bh.criteria_set_id),
        "copy_year": "2043",
        "text": "title: 越权",
    }
    return [
        {"data": form},
        {"json": {**form, "entry": {}, "note": "越权", "version": 1, "vetoes": {}}},
    ]


@pytest.mark.parametrize("user", ["county_qs", "inspector_qs1"])
def test_writes_outside_the_region_are_refused_and_change_nothing(app, world: World, user: str) -> None:  # type: ignore[no-untyped-def]
    client, csrf = user_client(app, user)
    findings: list[str] = []
    with client:
        before = table_checksums()
        for route in app_routes(app):
            if route.method not in WRITE_METHODS or route.is_api or str(route) in OWN:
                continue
            url = target_url(route.path, world)
            for kw in bodies(world):
                r = client.request(route.method, url, headers={"X-CSRF-Token": csrf}, **kw)
                if r.status_code < 400 or r.status_code >= 500 or r.status_code == 401:
                    findings.append(f"{route} [{next(iter(kw))}]: {r.status_code} {r.text[:150]!r}")
                for canary in world["bh"].canaries:
                    if canary in r.text:
                        findings.append(f"{route}: the answer names {canary!r}")
        after = table_checksums()
    if before != after:
        findings.append(f"tables changed: {changed_tables(before, after)}")
    assert not findings, "\n".join(findings)
