"""API fixtures: bearer tokens for several regions, clients that send them, a relaxed rate limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.api.router import api_app
from app.auth import service as auth_service
from app.db import session_scope

# Token regions: the city sees all five counties; qs (青山县) and bh (白河县) see one county each.
TOKEN_REGIONS = {"province": "99", "city": "9901", "qs": "990102", "bh": "990103"}


@pytest.fixture(scope="session")
def tokens(database: str) -> dict[str, str]:
    """Bearer secrets by name, created once through the auth service (as the CLI does)."""
    out = {}
    with session_scope() as session:
        for key, code in TOKEN_REGIONS.items():
            secret, _ = auth_service.create_token(session, name=f"api-test-{key}", region_code=code)
            out[key] = secret
    return out


@pytest.fixture(autouse=True)
def relaxed_rate_limit() -> Iterator[None]:
    """Tests make many quick requests: lift the per-token limit, except where a test sets its own."""
    limiter = api_app.state.limiter
    settings = api_app.state.api_settings
    limiter.configure(rate=1e6, burst=1_000_000)
    yield
    limiter.configure(rate=settings.rate_per_second, burst=settings.rate_burst)


@pytest.fixture()
def api(app, tokens: dict[str, str]) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client with the city token (all five demo counties)."""
    with TestClient(app, base_url="http://testserver", headers=bearer(tokens["city"])) as c:
        yield c


@pytest.fixture()
def anon(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
