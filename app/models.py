"""Imports every table so that `SQLModel.metadata` is complete (Alembic, tests)."""

from app import db as _db  # noqa: F401  (sets the naming convention first)
from app.assessments.models import Assessment, Evidence, Objection, Publicity, ScoreEntry
from app.audit.models import AuditEvent
from app.auth.models import ApiToken, User, UserSession
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.dynamic.models import DemoSite, RectificationTask, StarChange, Visit, WeakListing
from app.jobs.models import Job
from app.regions.models import Region

__all__ = [
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "Branch",
    "CriteriaSetRecord",
    "DemoSite",
    "Evidence",
    "Job",
    "Objection",
    "Publicity",
    "RectificationTask",
    "Region",
    "ScoreEntry",
    "StarChange",
    "User",
    "UserSession",
    "Visit",
    "WeakListing",
]
