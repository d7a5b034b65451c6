"""What each role may do. Scope (the region subtree) is checked separately, on every query."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    VIEW = "view"
    MANAGE_BRANCHES = "manage_branches"
    MANAGE_USERS = "manage_users"
    MANAGE_CRITERIA = "manage_criteria"
    SELF_ASSESS = "self_assess"
    SCORE = "score"
    REVIEW = "review"


ROLE_PERMS: dict[str, frozenset[Perm]] = {
    "admin": frozenset(Perm),
    "county": frozenset({Perm.VIEW, Perm.MANAGE_BRANCHES, Perm.MANAGE_CRITERIA, Perm.REVIEW}),
    "inspector": frozenset({Perm.VIEW, Perm.SCORE}),
    "branch": frozenset({Perm.VIEW, Perm.SELF_ASSESS}),
    "viewer": frozenset({Perm.VIEW}),
}


def has_perm(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMS.get(role, frozenset())
