"""python -m app criteria import FILE --region CODE [--publish] / criteria export ID -o FILE."""

from __future__ import annotations

import re
from pathlib import Path

from app.cli import main
from app.scoring import content_hash, load_document
from tests.criteria.helpers import as_yaml, detail, lib_doc


def test_import_publish_and_export_round_trip(tmp_path: Path, capsys, login) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "set.yaml"
    src.write_text(as_yaml(lib_doc("example-shape-c", 2085)), encoding="utf-8")
    assert main(["criteria", "import", str(src), "--region", "990102", "--publish"]) == 0
    out = capsys.readouterr().out
    set_id = int(re.search(r"#(\d+)", out).group(1))  # type: ignore[union-attr]
    assert "已发布" in out
    d = detail(login("county_qs"), set_id)
    assert d["status"] == "published" and d["region_code"] == "990102"
    for name in ("out.yaml", "out.json"):
        target = tmp_path / name
        assert main(["criteria", "export", str(set_id), "-o", str(target)]) == 0
        assert main(["criteria", "import", str(target), "--region", "990103"]) == 0
        again = int(re.findall(r"#(\d+)", capsys.readouterr().out)[-1])
        assert content_hash(load_document(detail(login("admin"), again)["document"])) == d["content_hash"]


def test_import_errors_are_listed_by_path(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    doc = lib_doc("example-shape-a", 2086)
    doc["categories"][2]["items"][0]["max"] = "0"
    src = tmp_path / "bad.yaml"
    src.write_text(as_yaml(doc), encoding="utf-8")
    assert main(["criteria", "import", str(src), "--region", "990102"]) == 2
    err = capsys.readouterr().err
    assert "categories[2].items[0].max：分值必须大于 0" in err
    assert main(["criteria", "import", str(src), "--region", "990102001"]) == 2
    assert main(["criteria", "import", str(tmp_path / "missing.yaml"), "--region", "990102"]) == 2
    assert main(["criteria", "export", "99999999", "-o", str(tmp_path / "x.yaml")]) == 2
