"""The spreadsheet columns of the branch register (import template, import, export)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool = False
    width: int = 14
    hint: str = ""


# The columns an import reads, in template order. Headers are matched after trimming spaces and a
# trailing "*"; the English field name is accepted too.
IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("支部编码", "code", True, 20, "必填；2–32 位字母、数字或短横线；已存在的编码将更新该支部"),
    Column("支部名称", "name", True, 44, "必填；2–128 个字符"),
    Column("领域", "sector", True, 10, "必填；填中文（如 农村）或代码（如 rural）"),
    Column("所在区划代码", "region_code", True, 16, "必填；须在您的管辖范围内"),
    Column("书记姓名", "secretary_name", False, 10, "可空（空缺）；不超过 32 个字符"),
    Column("书记电话", "secretary_phone", False, 16, "可空；数字、+、- 和空格"),
    Column("党员人数", "member_count", False, 10, "0–100000 的整数；新建时空白为 0"),
    Column("成立日期", "founded_on", False, 12, "YYYY-MM-DD，如 2001-07-01"),
)
# Read-only columns an export adds; an import ignores them (so an export re-imports unchanged).
EXPORT_EXTRA: tuple[Column, ...] = (
    Column("所在区划名称", "region_name", False, 16),
    Column("乡镇/街道", "township_name", False, 14),
    Column("状态", "status", False, 8),
)
BY_HEADER: dict[str, Column] = {c.header: c for c in IMPORT_COLUMNS} | {c.field: c for c in IMPORT_COLUMNS}
HEADER_OF: dict[str, str] = {c.field: c.header for c in IMPORT_COLUMNS}


def normalize_header(text: str) -> str:
    return text.replace("\u3000", " ").strip().rstrip("*\uff0a").strip()
