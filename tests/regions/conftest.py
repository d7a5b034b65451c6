"""Region tests share the branch tests' helpers (a logged-in client per user and module)."""

from tests.branches.conftest import as_user

__all__ = ["as_user"]
