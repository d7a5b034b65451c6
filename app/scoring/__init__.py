"""Pure scoring engine: criteria-set documents, entries, score(), quotas. No database, no web."""

from app.scoring.document import Category, CriteriaSet, Item, LeafItem, PenaltyItem, Preset, Sheet
from app.scoring.engine import score
from app.scoring.entries import (
    DeductionHit,
    Designation,
    Discretionary,
    Entries,
    ItemEntry,
    Votes,
    validate_entry,
)
from app.scoring.errors import DocumentError, EntriesError, ScoringError
from app.scoring.library import library_names, library_path, load_library
from app.scoring.loader import content_hash, dump_document, load_document, load_yaml
from app.scoring.quotas import QuotaCandidate, QuotaDecision, apply_quotas
from app.scoring.result import AppliedDeduction, CategoryResult, ItemResult, Result, SheetResult, Step

__all__ = [
    "AppliedDeduction",
    "Category",
    "CategoryResult",
    "CriteriaSet",
    "DeductionHit",
    "Designation",
    "Discretionary",
    "DocumentError",
    "Entries",
    "EntriesError",
    "Item",
    "ItemEntry",
    "ItemResult",
    "LeafItem",
    "PenaltyItem",
    "Preset",
    "QuotaCandidate",
    "QuotaDecision",
    "Result",
    "ScoringError",
    "Sheet",
    "SheetResult",
    "Step",
    "Votes",
    "apply_quotas",
    "content_hash",
    "dump_document",
    "library_names",
    "library_path",
    "load_document",
    "load_library",
    "load_yaml",
    "score",
    "validate_entry",
]
