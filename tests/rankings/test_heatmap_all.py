"""The report's heat maps from one pair of queries (``heatmap.build_all``) equal one ``build`` each."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.rankings import heatmap
from app.rankings import service as rankings
from tests.rankings.conftest import YEAR, province_scope


@pytest.mark.parametrize(
    ("code", "year"), [("990102", 2026), ("990102", 2025), ("990103", 2026), ("9901", 2026), ("990102", YEAR)]
)
def test_build_all_equals_one_build_each(rdb: Session, town, code: str, year: int) -> None:  # type: ignore[no-untyped-def]
    scope = province_scope(rdb)
    region = rankings.resolve_region(rdb, scope=scope, code=code)
    sectors = rankings.sectors_present(rdb, scope=scope, year=year, region_path=region.path)
    assert sectors
    by_sector, by_town = heatmap.build_all(
        rdb, scope=scope, year=year, region=region, sectors=[*sectors, "no-such-sector"]
    )
    want = heatmap.build(rdb, scope=scope, year=year, region=region, by="sector", sector=None)
    assert by_sector.model_dump() == want.model_dump()
    assert by_sector.rows
    for sector in [*sectors, "no-such-sector"]:
        want = heatmap.build(rdb, scope=scope, year=year, region=region, by="township", sector=sector)
        assert by_town[sector].model_dump() == want.model_dump(), sector
