"""The browser harness: the real app served by uvicorn on a free loopback port (same test database as the
rest of the run), and Debian's Chromium driven by Playwright. Every page is checked for console errors
and CSP violations when its test ends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 768, "height": 1024}
PASSWORD = "Xingji@2026"
# Every securitypolicyviolation is kept on the window so a test can read it after the fact.
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || ''));
});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(database: str, app: Any) -> Iterator[str]:
    """uvicorn in a thread, serving the session's app (and so the session's test database)."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@dataclass
class Watch:
    """Console errors, page errors and CSP violations seen by the pages of one test."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=lambda: ["favicon.ico"])

    def allow(self, fragment: str) -> None:
        self.allowed.append(fragment)

    def attach(self, page: Any) -> None:
        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            where = (msg.location or {}).get("url", "")
            text = f"{msg.text} @ {where}"
            if not any(a in text for a in self.allowed):
                self.errors.append(text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def csp(self, page: Any) -> list[str]:
        return list(page.evaluate("window.__csp || []"))


@pytest.fixture()
def watch() -> Watch:
    return Watch()


@pytest.fixture()
def new_page(browser: Any, live_server: str, watch: Watch) -> Iterator[Callable[..., Any]]:
    """new_page("inspector_qs1") → a logged-in page in its own context (768×1024, zh-CN)."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make(username: str | None = None, viewport: dict[str, int] | None = None) -> Any:
        ctx = browser.new_context(viewport=viewport or VIEWPORT, locale="zh-CN", base_url=live_server)
        ctx.add_init_script(CSP_PROBE)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        watch.attach(page)
        pages.append(page)
        if username:
            login(page, username)
        return page

    yield make
    violations = [v for p in pages if not p.is_closed() for v in watch.csp(p)]
    for ctx in contexts:
        ctx.close()
    assert not watch.errors, f"console errors: {watch.errors}"
    assert not violations, f"CSP violations: {violations}"


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
