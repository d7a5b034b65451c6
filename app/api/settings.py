"""The knobs of the machine API, in one place (settings-like constants, overridable per app)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiSettings:
    """Limits of the /api/v1 contract; `create_api_app(settings=...)` takes another instance."""

    # Token bucket per API token, per process: sustained requests per second and burst size.
    rate_per_second: float = 20.0
    rate_burst: int = 100
    # Page sizes of the list endpoints (more than the maximum is a 422, never a silent truncation).
    limit_default: int = 100
    limit_max: int = 1000
    # Assessments per query of the NDJSON stream (each with its entries, ~10 KB of JSON text).
    ndjson_batch: int = 200
    # api_token.last_used_at is written at most this often.
    last_used_every_seconds: int = 60


API_SETTINGS = ApiSettings()
LIMIT_DEFAULT = API_SETTINGS.limit_default
LIMIT_MAX = API_SETTINGS.limit_max
