"""The provincial JSON API v1: a stable machine contract mounted at /api/v1 (see docs/api.md)."""
