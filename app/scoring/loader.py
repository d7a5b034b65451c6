"""Reading, writing and fingerprinting criteria-set documents."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from app.scoring.checks import check_document
from app.scoring.document import CriteriaSet
from app.scoring.errors import DocumentError, translate_pydantic


def load_document(data: Mapping[str, Any]) -> CriteriaSet:
    """Parse and validate a document (dict from YAML or JSON); raise DocumentError on any fault."""
    if not isinstance(data, Mapping):
        raise DocumentError([("", "文档必须是键值对象（YAML 映射或 JSON 对象）")])
    try:
        cs = CriteriaSet.model_validate(dict(data))
    except ValidationError as exc:
        raise DocumentError(translate_pydantic(exc.errors(include_url=False))) from None
    problems = check_document(cs)
    if problems:
        raise DocumentError(problems)
    return cs


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    result: dict[Hashable, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(None, None, "键必须是简单值", key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"键“{key}”重复", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=deep)  # type: ignore[no-untyped-call]
    return result


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str) -> Any:
    """YAML text -> plain data; syntax errors become DocumentError."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # safe: SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "未知位置"
        problem = getattr(exc, "problem", None) or "无法解析"
        raise DocumentError([("", f"YAML 语法错误（{where}）：{problem}")]) from None
    except RecursionError:
        raise DocumentError([("", "YAML 嵌套过深")]) from None


def load_yaml(text: str) -> CriteriaSet:
    """Parse a YAML (or JSON, which is YAML) document text."""
    return load_document(parse_yaml(text))


def dump_document(cs: CriteriaSet) -> dict[str, Any]:
    """Canonical plain-JSON form: every key present, decimals as strings; ``load_document`` round-trips."""
    return cs.model_dump(mode="json")


def canonical_json(cs: CriteriaSet) -> str:
    return json.dumps(dump_document(cs), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(cs: CriteriaSet) -> str:
    """sha256 hex of the canonical JSON (sorted keys, no spaces, UTF-8)."""
    return hashlib.sha256(canonical_json(cs).encode("utf-8")).hexdigest()
