"""PDF through WeasyPrint: the same documents as the pages, A4, Noto CJK embedded, "第 N 页 / 共 M 页".

static/report.css is the print stylesheet of both the browser and WeasyPrint; it sets the font on
``html`` (page-number footers use the root font) and the charts carry their own ``font-family``.
"""

from __future__ import annotations

import logging
from typing import Any

from app.gcpause import gc_paused
from app.reports import documents
from app.reports.schemas import AnnualReport, Notice
from app.web.templating import STATIC_DIR, env

PDF_TYPE = "application/pdf"
CSS_PATH = STATIC_DIR / "report.css"


def _quiet() -> None:
    # WeasyPrint logs every CSS property it does not know (e.g. the browser-only print rules) as a warning.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)


def render(template: str, context: dict[str, Any]) -> bytes:
    from weasyprint import CSS, HTML

    _quiet()
    html = env.get_template(template).render(context)
    with gc_paused():
        doc = HTML(string=html, base_url=str(STATIC_DIR))
        return doc.write_pdf(stylesheets=[CSS(filename=str(CSS_PATH))]) or b""


def annual_pdf(report: AnnualReport) -> bytes:
    ctx = documents.annual_context(report, pdf=True)
    return render("reports/annual_pdf.html", ctx)


def notice_pdf(notice: Notice) -> bytes:
    ctx = documents.notice_context(notice, pdf=True)
    return render("reports/notice_pdf.html", ctx)
