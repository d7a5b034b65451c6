"""app.web.json_body writes the bytes FastAPI's jsonable_encoder + JSONResponse would."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import random
import uuid
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.web.json_body import json_bytes, json_response


class Colour(enum.Enum):
    RED = "red"
    NUMBER = 3


class Level(enum.StrEnum):
    HIGH = "高"


@dataclasses.dataclass
class Point:
    x: Decimal
    when: datetime.date


class Model(BaseModel):
    total: Decimal
    at: datetime.datetime
    tags: list[str]


def _leaf(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -7,
            2**40,
            1.5,
            "星级",
            'a"b\\c\n',
            "</script>",
            Decimal("85.5"),
            Decimal("90"),
            Decimal("1E+2"),
            Decimal("-0.00"),
            Decimal("0.125"),
            datetime.datetime(2026, 11, 29, 8, 30, 1, 123456, tzinfo=datetime.UTC),
            datetime.datetime(2026, 11, 29, 8, 30),
            datetime.date(2026, 1, 2),
            datetime.time(7, 5),
            Colour.RED,
            Colour.NUMBER,
            Level.HIGH,
            uuid.UUID(int=5),
            PurePosixPath("/a/b"),
            Point(Decimal("2.5"), datetime.date(2025, 5, 1)),
            Model(total=Decimal("7.25"), at=datetime.datetime(2026, 1, 1), tags=["x"]),
            {1, 2},
            frozenset({"k"}),
        ]
    )


def _value(rng: random.Random, depth: int = 0) -> Any:
    if depth > 3 or rng.random() < 0.4:
        return _leaf(rng)
    kind = rng.choice(["dict", "list", "tuple", "intkeys"])
    n = rng.randint(0, 4)
    if kind == "dict":
        return {f"k{i}": _value(rng, depth + 1) for i in range(n)}
    if kind == "intkeys":
        return {i: _value(rng, depth + 1) for i in range(n)}
    items = [_value(rng, depth + 1) for _ in range(n)]
    return items if kind == "list" else tuple(items)


def _fastapi(data: Any) -> bytes:
    return bytes(JSONResponse(jsonable_encoder(data)).body)


def test_same_bytes_as_fastapi() -> None:
    for seed in range(500):
        data = _value(random.Random(seed))
        if any(isinstance(x, set | frozenset) for x in _walk(data)):
            # a set's order is the only freedom: compared as parsed JSON, lists sorted
            ours, theirs = json.loads(json_bytes(data)), json.loads(_fastapi(data))
            assert _norm(ours) == _norm(theirs), seed
        else:
            assert json_bytes(data) == _fastapi(data), seed


def test_keys_json_cannot_write_take_the_general_encoder() -> None:
    data = {datetime.date(2026, 1, 1): 1, Colour.RED: Decimal("2.5")}
    assert json_bytes(data) == _fastapi(data)


def test_nan_is_refused_as_fastapi_does() -> None:
    with pytest.raises(ValueError):
        json_bytes({"x": Decimal("NaN")})
    with pytest.raises(ValueError):
        _fastapi({"x": Decimal("NaN")})


def test_response() -> None:
    r = json_response({"总分": Decimal("85.5")}, status_code=201, headers={"Vary": "Accept"})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    assert r.headers["vary"] == "Accept"
    assert r.body == '{"总分":85.5}'.encode()


def _walk(v: Any) -> Any:
    yield v
    if isinstance(v, dict):
        for x in v.values():
            yield from _walk(x)
    elif isinstance(v, list | tuple):
        for x in v:
            yield from _walk(x)


def _norm(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return sorted((_norm(x) for x in v), key=repr)
    return v
