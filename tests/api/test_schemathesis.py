"""Property-based contract check: schemathesis generates requests from /api/v1/openapi.json, in-process.

Every response must be documented (status, content type, headers, body schema) and none may be a 5xx.
`positive_data_acceptance` is off: a cursor matching the documented pattern may still be one the
server never issued, which the contract answers with 422 on purpose.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.auth import service as auth_service
from app.db import session_scope
from app.main import create_app
from tests.api.conftest import bearer

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app())


@pytest.fixture(scope="module")
def township_token(database: str) -> str:
    """A token for one township (安林街道): real data in every list, yet full NDJSON streams stay small."""
    with session_scope() as session:
        secret, _ = auth_service.create_token(session, name="api-test-fuzz", region_code="990102001")
        return secret


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(case, township_token) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        headers=bearer(township_token), excluded_checks=[positive_data_acceptance], timeout=60
    )
