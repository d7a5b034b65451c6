"""Background report jobs: one job per distinct request, progress to done, polling fragment, downloads served
only inside the scope, recovery of jobs interrupted by a restart."""

from __future__ import annotations

import io
import time

from openpyxl import load_workbook
from sqlmodel import Session, select

from app.db import get_engine
from app.jobs.models import Job
from app.reports import jobs
from tests.reports.conftest import download_name, flat, pdf_text

FORM = {"year": "2026", "region": "990103"}


def _wait(client, job_id: int, timeout: float = 240) -> tuple[dict, list[int]]:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.json(f"/reports/jobs/{job_id}").json()
        seen.append(data["progress"])
        if data["status"] in ("done", "failed"):
            return data, seen
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {seen[-5:]}")


def test_job_dedup_progress_download_and_scope(login) -> None:  # type: ignore[no-untyped-def]
    bh = login("county_bh")
    first = bh.post("/reports/jobs", data=FORM, headers={"Accept": "application/json"})
    second = bh.post("/reports/jobs", data=FORM, headers={"Accept": "application/json"})
    assert first.status_code in (200, 202) and second.status_code == 200
    job_id = first.json()["id"]
    assert second.json()["id"] == job_id
    assert second.json()["status"] in ("queued", "running", "done")

    # while it runs, the fragment polls itself every second
    frag = bh.get(f"/reports/jobs/{job_id}", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="job"' in frag.text
    if 'data-status="queued"' in frag.text or 'data-status="running"' in frag.text:
        assert 'hx-trigger="every 1s"' in frag.text

    data, seen = _wait(bh, job_id)
    assert data["status"] == "done", data
    assert data["progress"] == 100 and data["formats"] == ["pdf", "xlsx"]
    assert seen == sorted(seen)  # progress only goes forward
    # a third request after it is done still gets the same job (nothing changed in the data)
    again = bh.post("/reports/jobs", data=FORM, headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json()["id"] == job_id
    with Session(get_engine()) as s:
        job = s.get(Job, job_id)
        assert job is not None
        same = s.exec(select(Job).where(Job.params_key == job.params_key)).all()
        assert len(same) == 1 and job.result_path and job.params["region"] == "990103"

    done = bh.get(f"/reports/jobs/{job_id}", headers={"HX-Request": "true"})
    assert "every 1s" not in done.text and f"/reports/jobs/{job_id}/download/pdf" in done.text
    page = bh.get(f"/reports/jobs/{job_id}")
    assert "<html" in page.text and "已生成" in page.text  # a reload shows the state from the database

    pdf = bh.get(f"/reports/jobs/{job_id}/download/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert download_name(pdf) == "白河县2026年度星级党支部评定结果.pdf"
    text = flat(pdf_text(pdf.content))
    assert "白河县2026年度星级党支部评定结果" in text and "草稿·未定稿" in text
    xlsx = bh.get(f"/reports/jobs/{job_id}/download/xlsx")
    assert download_name(xlsx) == "白河县2026年度星级党支部评定结果.xlsx"
    wb = load_workbook(io.BytesIO(xlsx.content))
    report = bh.json(f"/reports/jobs/{job_id}/report").json()
    assert report["region"]["code"] == "990103" and report["draft"] is True
    assert wb["全部排名"].max_row - 1 == report["ranked_count"]
    # the same numbers as a report made on request
    live = bh.json("/reports/annual?year=2026&region=990103").json()
    assert live["summary"] == report["summary"] and live["ranked_count"] == report["ranked_count"]
    view = bh.get(f"/reports/jobs/{job_id}/report")
    assert "一、总体情况" in view.text and f"/reports/jobs/{job_id}/download/xlsx" in view.text
    # The page shows the body the job rendered and stored; a job without one (made before bodies were
    # stored) is shown from report.json, with the very same body.
    with Session(get_engine()) as s:
        job = s.get(Job, job_id)
        assert job is not None
    body = jobs.body_of(job)
    stored = body.read_text("utf-8")
    assert "一、总体情况" in stored and stored in view.text
    body.unlink()
    rendered = bh.get(f"/reports/jobs/{job_id}/report")
    assert rendered.status_code == 200 and stored in rendered.text

    # another county: 404 on the job, its report and its files; the city sees it
    qs = login("county_qs")
    for url in (
        f"/reports/jobs/{job_id}",
        f"/reports/jobs/{job_id}/report",
        f"/reports/jobs/{job_id}/download/pdf",
        f"/reports/jobs/{job_id}/download/xlsx",
    ):
        assert qs.get(url).status_code == 404, url
    assert qs.post("/reports/jobs", data=FORM).status_code == 404
    # a plain form post (no htmx, no JSON) lands on the job page
    plain = bh.post("/reports/jobs", data=FORM, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/reports/jobs/{job_id}"
    assert login("inspector_qs1").get(f"/reports/jobs/{job_id}").status_code == 403
    admin = login("admin")
    assert admin.get(f"/reports/jobs/{job_id}/download/pdf").status_code == 200
    # the city's own request for the same county is a different job (another scope: quota groups may differ)
    city_job = admin.post("/reports/jobs", data=FORM, headers={"Accept": "application/json"}).json()
    assert city_job["id"] != job_id
    assert bh.get(f"/reports/jobs/{city_job['id']}").status_code == 404
    _wait(admin, city_job["id"])


def test_job_needs_csrf(login) -> None:  # type: ignore[no-untyped-def]
    bh = login("county_bh")
    assert bh.post("/reports/jobs", data=FORM, csrf=False).status_code == 403


def test_job_form_is_validated(login) -> None:  # type: ignore[no-untyped-def]
    bh = login("county_bh")
    assert bh.post("/reports/jobs", data={"year": "2026", "region": "abc"}).status_code == 422
    assert bh.post("/reports/jobs", data={"year": "2026", "region": "990103001"}).status_code == 422


def test_interrupted_jobs_are_marked_failed_at_startup(login) -> None:  # type: ignore[no-untyped-def]
    jobs.ensure_started()
    with Session(get_engine()) as s:
        job = Job(
            kind=jobs.KIND,
            params_key="0" * 64,
            params={"kind": jobs.KIND, "year": 2026, "region": "990103", "scope": "/99/9901/990103/"},
            status="running",
            progress=40,
        )
        s.add(job)
        s.commit()
        job_id = job.id
    failed, queued = jobs.recover()
    assert failed >= 1 and job_id not in queued
    bh = login("county_bh")
    data = bh.json(f"/reports/jobs/{job_id}").json()
    assert data["status"] == "failed" and data["message"] == jobs.INTERRUPTED
    page = bh.get(f"/reports/jobs/{job_id}", headers={"HX-Request": "true"}).text
    assert "重新生成" in page and "every 1s" not in page
