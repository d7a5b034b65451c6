"""Re-export of the dynamic-management labels, which live in app/labels.py with every other label."""

from app.labels import (
    DEMO_SITE_STATUSES,
    STAR_CHANGE_EVENTS,
    TASK_STATUSES,
    TIMELINE_KINDS,
    WEAK_SIGNS,
    WEAK_STATUSES,
)

__all__ = [
    "DEMO_SITE_STATUSES",
    "STAR_CHANGE_EVENTS",
    "TASK_STATUSES",
    "TIMELINE_KINDS",
    "WEAK_SIGNS",
    "WEAK_STATUSES",
]
