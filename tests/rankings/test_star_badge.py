"""The star badge filter: every level, none, and an unknown value (escaped, never raw)."""

from __future__ import annotations

from markupsafe import Markup

from app.labels import STARS
from app.web.templating import env, star_badge


def test_each_level_is_its_badge() -> None:
    for n, label in STARS.items():
        assert star_badge(n) == f'<span class="star-badge s{n}">{label}</span>'
        assert isinstance(star_badge(n), Markup)


def test_none_is_a_dash() -> None:
    assert star_badge(None) == '<span class="muted">—</span>'


def test_the_macro_and_the_filter_render_the_same() -> None:
    template = env.from_string(
        '{% from "rankings/_macros.html" import star %}{% for n in ns %}{{ star(n) }}|{{ n|star_badge }};{% endfor %}'
    )
    out = template.render(ns=[None, *STARS])
    for part in out.split(";")[:-1]:
        macro, filtered = part.split("|")
        assert macro == filtered


def test_an_unexpected_value_is_escaped() -> None:
    assert star_badge("<b>") == '<span class="star-badge">&lt;b&gt;</span>'  # type: ignore[arg-type]
