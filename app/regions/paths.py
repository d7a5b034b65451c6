"""Region paths ('/99/9901/990102/') and the SQL condition "this path lies in that subtree".

Every scope check and region filter in the product goes through ``in_subtree``. It compiles per engine
to the form that engine's indexes serve:

* SQLite: the half-open range ``path >= :p AND path < :end`` (``end`` is ``p`` with its last character
  incremented). SQLite never uses an index for ``LIKE :param`` (case-insensitive, bound pattern,
  ESCAPE), so a ``LIKE`` turned every ranking query into a scan of the year; the range is an index
  range (measured on 100,000 assessments: 31 ms → 4 ms). SQLite compares text bytewise (BINARY), so the
  range is exactly the prefix test.
* PostgreSQL: ``path LIKE :pattern ESCAPE '/'`` (the prefix escaped, then ``%``), served by the
  ``text_pattern_ops`` indexes of migration 0003 whatever the database's collation; a range on a non-C
  collation would not be a prefix test (``/`` may be ignored when ordering).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, literal, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean


def subtree_end(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix`` (bytewise, for ASCII paths)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class InSubtree(ColumnElement[bool]):
    """``column`` starts with ``prefix``, compiled per dialect (see the module docstring).

    Both forms are built up front so that their bound parameters are part of the statement's cache key
    (SQLAlchemy reuses a compiled statement with the new statement's parameters)."""

    inherit_cache = True
    _is_implicitly_boolean = True
    type = Boolean()
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads it from the class)
        ("as_range", InternalTraversal.dp_clauseelement),
        ("as_like", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, lo: Any, hi: Any, like: Any, *, indexed: bool = True) -> None:
        # lo, hi, like: the prefix's values (`subtree_params`) as literals or as named parameters.
        # `path || ''` keeps SQLite from serving the range from an index on the path, when another index
        # serves the statement better (a whole province's ranking read in total order).
        key = column if indexed else column.concat("")
        self.as_range = and_(key >= lo, key < hi).self_group()
        self.as_like = column.like(like, escape=LIKE_ESCAPE)


@compiles(InSubtree)
def _like(element: InSubtree, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.as_like, **kw)  # type: ignore[no-any-return]


@compiles(InSubtree, "sqlite")
def _range(element: InSubtree, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.as_range, **kw)  # type: ignore[no-any-return]


LIKE_ESCAPE = "/"


def like_escaped(text: str) -> str:
    """`text` with LIKE's wildcards (and the escape character) escaped by LIKE_ESCAPE."""
    e = LIKE_ESCAPE
    return text.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")


def subtree_params(name: str, prefix: str) -> dict[str, str]:
    """The values of "a path in the subtree of ``prefix``": a half-open range and a LIKE pattern, named
    ``{name}_lo``, ``{name}_hi`` and ``{name}_like`` ('' is every path)."""
    if not prefix:
        return {f"{name}_lo": "", f"{name}_hi": "\uffff", f"{name}_like": "%"}
    return {
        f"{name}_lo": prefix,
        f"{name}_hi": subtree_end(prefix),
        f"{name}_like": like_escaped(prefix) + "%",
    }


def in_subtree_bound(column: Any, name: str, *, indexed: bool = True) -> ColumnElement[bool]:
    """``in_subtree`` with the prefix as named parameters, for statements built once: run them with
    ``subtree_params(name, prefix)``."""
    values: list[Any] = [bindparam(f"{name}_{part}") for part in ("lo", "hi", "like")]
    return InSubtree(column, *values, indexed=indexed)


def in_subtree(column: Any, prefix: str, *, indexed: bool = True) -> ColumnElement[bool]:
    """SQL: the path in ``column`` is ``prefix`` or below it. An empty prefix is everything.
    ``indexed=False``: SQLite must not use an index on ``column`` for it (see InSubtree)."""
    if not prefix:
        return true()
    values: list[Any] = [literal(v) for v in subtree_params("p", prefix).values()]
    return InSubtree(column, *values, indexed=indexed)
