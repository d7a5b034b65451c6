"""The standard library of criteria sets shipped with the product (app/criteria/library/*.yaml)."""

from __future__ import annotations

from pathlib import Path

from app.scoring.document import SECTOR_CODES, CriteriaSet
from app.scoring.loader import load_yaml


def library_path() -> Path:
    """Folder holding the library YAML documents."""
    return Path(__file__).resolve().parent.parent / "criteria" / "library"


def library_names() -> list[str]:
    """Names of every library document (file stem), sector defaults first, then the examples."""
    stems = {p.stem for p in library_path().glob("*.yaml")}
    sectors = [s for s in SECTOR_CODES if s in stems]
    return sectors + sorted(stems - set(sectors))


def load_library(sector: str) -> CriteriaSet:
    """Load a library document by name: a sector code ('rural' …) or an example ('example-shape-a')."""
    if sector not in library_names():
        raise KeyError(f"标准库中没有“{sector}”")
    path = library_path() / f"{sector}.yaml"
    return load_yaml(path.read_text(encoding="utf-8"))
