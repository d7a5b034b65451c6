"""Spreadsheet files in and out: CSV (UTF-8 with or without BOM, GB18030) and XLSX, with safety limits.

Shared by the branch and the region imports/exports. Reading never trusts the file name: the content
decides (a renamed file is refused with a clear message), an XLSX is checked as a zip before openpyxl
sees it (entry count, declared uncompressed size), and the row count is capped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from app.branches.schemas import RowError
from app.errors import DomainError, ValidationFailed

MAX_ROWS = 200_000
MAX_BYTES = 50 * 1024 * 1024  # the upload, and the uncompressed content of an XLSX
MAX_ZIP_ENTRIES = 2_000
MAX_ERRORS = 5_000  # an error report lists at most this many problems
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


class TooLarge(DomainError):
    status_code = 413
    title = "上传内容过大"


class ImportRejected(ValidationFailed):
    """Some rows are invalid: nothing was written. `errors` names each row, column and problem."""

    def __init__(self, errors: list[RowError], *, total_rows: int, truncated: bool = False) -> None:
        errors = sorted(errors, key=lambda e: e.row)  # stable: columns keep their order within a row
        detail = (
            f"导入文件有 {len(errors)}{'+' if truncated else ''} 处问题，未导入任何数据。请修改后重新导入。"
        )
        super().__init__(
            detail,
            extra={"errors": [e.model_dump() for e in errors], "rows": total_rows, "truncated": truncated},
        )
        self.errors = errors
        self.total_rows = total_rows
        self.truncated = truncated


@dataclass
class Table:
    """A sheet as text: the header cells and the data rows with their row numbers (as a spreadsheet shows)."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    # Undo the export's guard against formulas (a leading apostrophe before = + - @).
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _table(raw_rows: Iterable[Sequence[Any]]) -> Table:
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(raw_rows, start=1):
        cells = [_cell_text(v) for v in raw]
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            continue
        if len(rows) >= MAX_ROWS:
            raise TooLarge(f"数据行超过 {MAX_ROWS:,} 行上限，请拆分后分批导入")
        rows.append((number, cells))
    return Table(headers=headers or [], rows=rows)


def read_table(data: bytes, *, filename: str = "") -> Table:
    """Reads the first sheet of an XLSX, or a CSV, deciding by content (not by the file name)."""
    if len(data) > MAX_BYTES:
        raise TooLarge(f"文件超过 {MAX_BYTES // 1024 // 1024} MB 上限")
    name = filename.lower()
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data)
    if data.startswith(OLE_MAGIC) or name.endswith(".xls"):
        raise ValidationFailed("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入")
    if name.endswith((".xlsx", ".xlsm")):
        raise ValidationFailed("文件不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入")
    return _read_csv(data)


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data[:4096]:
        raise ValidationFailed("文件不是 CSV 或 Excel（.xlsx）文件")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ValidationFailed("无法识别 CSV 文件的编码，请保存为 UTF-8 或 GB18030（GBK）编码") from None
    try:
        return _table(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationFailed(f"CSV 格式有误：{exc}") from None


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    bad = "文件不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationFailed(bad) from None
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_BYTES:
        # Decompressed sizes are bounded by the declared sizes (zipfile stops there), so this caps zip bombs.
        raise TooLarge(f"Excel 文件解压后超过 {MAX_BYTES // 1024 // 1024} MB 上限，请拆分后分批导入")
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise ValidationFailed(bad)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a broken package
        raise ValidationFailed(bad) from None
    try:
        if not wb.worksheets:
            raise ValidationFailed("Excel 文件中没有工作表")
        return _table(wb.worksheets[0].iter_rows(values_only=True))
    except DomainError:
        raise
    except Exception:
        raise ValidationFailed(bad) from None
    finally:
        wb.close()


def _safe_csv(value: Any) -> str:
    """A cell for CSV: text that a spreadsheet would run as a formula gets a leading apostrophe."""
    text = _cell_text(value) if not isinstance(value, str) else value
    if text and text[0] in "=+-@" and not text.lstrip("+-").replace(" ", "").replace("-", "").isdigit():
        return "'" + text
    return text


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV in UTF-8 with BOM (so Excel opens the Chinese correctly), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_safe_csv(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(
    sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]], Sequence[int]]],
) -> bytes:
    """An XLSX with one sheet per (title, headers, rows, column widths): bold frozen header, auto-filter.

    Text cells are stored as text (never as formulas), so "=…" in a name stays harmless.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, headers, rows, widths in sheets:
        ws = wb.create_sheet(title=title)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        header_cells = []
        for h in headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            header_cells.append(cell)
        ws.append(header_cells)
        n = 1
        for row in rows:
            cells: list[Any] = []
            for v in row:
                if isinstance(v, str) and v.startswith("="):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.data_type = "s"
                    cells.append(cell)
                else:
                    cells.append(v)
            ws.append(cells)
            n += 1
        if headers:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{n}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def content_disposition(filename: str, *, fallback: str) -> str:
    """An attachment header with an ASCII fallback and the UTF-8 name (RFC 5987/6266)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def error_report_csv(errors: Sequence[RowError]) -> bytes:
    """The error report of an import as a CSV (UTF-8 with BOM)."""
    return write_csv(["行号", "列", "问题"], ([e.row, e.column, e.message] for e in errors))
