"""Helpers for the criteria tests: library documents with a test year, uploads, reading forms back."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import yaml

from app.scoring import dump_document, load_library

ID_IN_LOCATION = re.compile(r"/criteria/(\d+)")


def lib_doc(name: str, year: int, **changes: Any) -> dict[str, Any]:
    """A library document as a canonical dict, for a test year."""
    doc = dump_document(load_library(name))
    doc["year"] = year
    doc["title"] = doc["title"].replace("2026", str(year))
    doc.update(changes)
    return doc


def as_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def upload(lc: Any, text: str | None = None, *, file: tuple[str, bytes] | None = None, **kw: Any) -> Any:
    data = {"text": text or "", **kw.pop("data", {})}
    files = {"file": (file[0], file[1], "application/octet-stream")} if file else None
    return lc.post("/criteria/upload", data=data, files=files, follow_redirects=False, **kw)


def created_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:2000]
    m = ID_IN_LOCATION.search(response.headers["location"])
    assert m, response.headers["location"]
    return int(m.group(1))


def create(lc: Any, doc: dict[str, Any]) -> int:
    """Uploads a document (YAML text) and returns the new draft's id."""
    return created_id(upload(lc, as_yaml(doc)))


def detail(lc: Any, set_id: int) -> dict[str, Any]:
    r = lc.json(f"/criteria/{set_id}")
    assert r.status_code == 200, r.text[:1000]
    return r.json()  # type: ignore[no-any-return]


class _Forms(HTMLParser):
    """Collects the successful controls of every form, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._form: str | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._option: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = a.get("action", "")
            self.forms[self._form] = []
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file"):
                return
            self.forms[self._form].append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select, self._select_value, self._first_option = a.get("name"), None, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "select" and self._select:
            value = self._select_value if self._select_value is not None else self._first_option
            if value is not None:
                self.forms[self._form].append((self._select, value))
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.forms[self._form].append((self._textarea, text))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms(html: str) -> dict[str, list[tuple[str, str]]]:
    """action → the (name, value) pairs the form would submit."""
    p = _Forms()
    p.feed(html)
    return p.forms


def set_field(pairs: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    """The pairs with one field changed (added when absent)."""
    out = [(k, value if k == name else v) for k, v in pairs]
    if not any(k == name for k, _ in pairs):
        out.append((name, value))
    return out


def post_form(lc: Any, url: str, pairs: list[tuple[str, str]], **kw: Any) -> Any:
    """Posts pairs url-encoded (repeated names kept)."""
    from urllib.parse import urlencode

    headers = {"Content-Type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
    return lc.post(url, content=urlencode(pairs), headers=headers, follow_redirects=False, **kw)


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False)
