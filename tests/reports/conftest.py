"""Report tests: a few PDF generations shared per run (WeasyPrint takes seconds), and the poppler tools
(pdftotext, pdffonts) that open them."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from sqlmodel import Session

from app.db import get_read_engine
from tests.conftest import LoggedIn, login_client


def pdf_text(body: bytes, *, layout: bool = False) -> str:
    """The text of a PDF as pdftotext extracts it (reading order; ``layout``: the physical layout, so a
    table row is one line). Pages are separated by form feeds."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(body)
        f.flush()
        args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), f.name, "-"]
        return subprocess.run(args, capture_output=True, check=True).stdout.decode()


def flat(text: str) -> str:
    """Text without any whitespace: pdftotext breaks lines and drops or adds spaces by position."""
    return "".join(text.split())


def pdf_fonts(body: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(body)
        f.flush()
        return subprocess.run(["pdffonts", f.name], capture_output=True, check=True).stdout.decode()


def pdf_pages(body: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(body)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def download_name(resp) -> str:  # type: ignore[no-untyped-def]
    cd = resp.headers["content-disposition"]
    assert cd.startswith("attachment;") and 'filename="' in cd
    return unquote(cd.split("filename*=UTF-8''")[1])


@dataclass
class Pdf:
    body: bytes
    text: str
    name: str
    report: dict


def _pdf(client: LoggedIn, query: str) -> Pdf:
    r = client.get(f"/reports/annual.pdf?{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    report = client.json(f"/reports/annual?{query}").json()
    return Pdf(r.content, flat(pdf_text(r.content)), download_name(r), report)


@pytest.fixture(scope="session")
def qs_pdf(app, database) -> Pdf:  # type: ignore[no-untyped-def]
    """青山县 2026 (not final: a draft) as county_qs sees it."""
    c = login_client(app, "county_qs")
    try:
        return _pdf(c, "year=2026&region=990102")
    finally:
        c.client.close()


@pytest.fixture(scope="session")
def ty_pdf(app, database) -> Pdf:  # type: ignore[no-untyped-def]
    """桃源县 2026 (every assessment final) as the city viewer sees it."""
    c = login_client(app, "city_viewer")
    try:
        return _pdf(c, "year=2026&region=990106")
    finally:
        c.client.close()


@pytest.fixture()
def rdb() -> Iterator[Session]:
    """A read-only session (on SQLite the write engine would hold the write lock the requests need)."""
    with Session(get_read_engine(), expire_on_commit=False) as session:
        yield session
        session.rollback()
