"""Pure parts: the structural diff and the editor's form ↔ document mapping."""

from __future__ import annotations

from app.criteria import schemas
from app.criteria.diff import diff_documents
from app.scoring import dump_document, load_document, load_library


def _doc(name: str = "example-shape-a") -> dict:  # type: ignore[type-arg]
    return dump_document(load_library(name))


def test_diff_ignores_order_and_reports_fields() -> None:
    a = _doc()
    b = _doc()
    b["categories"] = list(reversed(b["categories"]))
    assert diff_documents(a, b).empty
    b["categories"][0]["items"][0]["guidance"] = "新说明"
    b["precision"] = 2
    d = diff_documents(a, b)
    assert [c.kind for c in d.changes] == ["changed", "changed"]
    assert d.changes[0].entity == "set" and d.changes[0].fields[0].label == "保留小数位数"
    assert d.changes[1].summary().startswith("修改 二级指标 QZ1 党员群众测评：评分说明")


def test_diff_across_aggregations() -> None:
    d = diff_documents(_doc("example-thematic"), _doc("example-ladder"))
    kinds = {c.entity for c in d.changes}
    assert {"set", "sheet", "category", "item"} <= kinds
    assert d.counts()["added"] > 0 and d.counts()["removed"] > 0
    assert d.summaries(limit=3)[-1].startswith("……另有")


def test_form_tree_round_trip_for_every_library_document() -> None:
    from app.scoring.library import library_names

    for name in library_names():
        doc = _doc(name)
        tree = schemas.section_tree(doc)
        merged = doc
        for section in (
            "meta",
            "indicators",
            "bonus",
            "penalties",
            "appraisal",
            "bands",
            "prerequisites",
            "vetoes",
            "quotas",
        ):
            merged, _ = schemas.merge_section(merged, section, tree)
        assert dump_document(load_document(merged)) == doc, name


def test_form_tree_parsing_and_error_mapping() -> None:
    tree = schemas.form_tree(
        [
            ("categories[3].items[1].max", "5"),
            ("categories[3].items[1].deductions[0].points", "1"),
            ("prerequisites[0].stars", "5"),
            ("prerequisites[0].stars", "4"),
            ("bogus name", "x"),
            ("a[99999].b", "x"),
            ("csrf_token", "t"),
        ]
    )
    assert tree["categories"][3]["items"][1]["max"] == "5"
    assert tree["prerequisites"][0]["stars"] == ["5", "4"]
    assert "csrf_token" not in tree and "a" not in tree
    mapping = {"categories[0]": "categories[3]", "categories[0].items[0]": "categories[3].items[1]"}
    errors = schemas.form_errors(
        [
            ("categories[0].items[0].max", "分值必须大于 0"),
            ("categories[0].items[0].max", "另一处"),
            ("bands", "x"),
        ],
        mapping,
    )
    assert errors == {"categories[3].items[1].max": "分值必须大于 0；另一处", "bands": "x"}


def test_blank_new_rows_are_ignored_and_deleted_rows_dropped() -> None:
    doc = _doc()
    tree = schemas.section_tree(doc)
    tree["bands"][5] = {"_new": "1", "stars": "", "min": ""}
    tree["bands"][4]["_delete"] = "on"
    merged, mapping = schemas.merge_section(doc, "bands", tree)
    assert [b["stars"] for b in merged["bands"]] == ["5", "4", "3", "2"]
    assert mapping["bands[3]"] == "bands[3]"
