"""Form writes shared by the pages: the request body as values, the state of a form shown again, and
"act, then redirect or show the form again with the refusal" in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from app.errors import DomainError, ValidationFailed
from app.web.htmx import redirect, wants_json

T = TypeVar("T")


async def json_object(request: Request) -> dict[str, Any] | None:
    """The JSON object of a JSON request (422 if it is not one); None for a form post."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        body = await request.json()
    except ValueError:
        raise ValidationFailed("JSON 格式错误") from None
    if not isinstance(body, dict):
        raise ValidationFailed("请求体须为 JSON 对象")
    return body


@dataclass(frozen=True)
class FormState:
    """A page's form as shown: fresh, or again after a refused write (which form, what was typed, why)."""

    form: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    status_code: int = 200

    @classmethod
    def refused(cls, exc: DomainError, values: dict[str, Any], form: str | None = None) -> FormState:
        return cls(form, values, exc.field_errors, exc.detail, exc.status_code)


FRESH = FormState()


def act(
    request: Request,
    db: Session,
    *,
    run: Callable[[], T],
    shown: Callable[[DomainError], bool],
    on_error: Callable[[DomainError], Response],
    answer: Callable[[T], Response],
    success_url: Callable[[T], str],
) -> Response:
    """Runs one write: commit, then the JSON answer or a redirect; or, for a refusal the page shows
    (`shown`), roll back and show the form again. Other refusals (and every refusal to a machine) are
    raised: the error page or problem+json."""
    try:
        result = run()
    except DomainError as exc:
        if wants_json(request) or not shown(exc):
            # Re-raised without a rollback: a rollback expires the user the error page reads; closing the
            # session discards the flushed changes.
            raise
        db.rollback()
        return on_error(exc)
    db.commit()
    if wants_json(request):
        return answer(result)
    return redirect(request, success_url(result))
