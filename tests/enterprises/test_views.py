"""Enterprise pages: list filters and sorting, detail, upload with progress, export."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from innopoints.enterprises.exporting import write_registry
from innopoints.enterprises.models import ImportBatch
from tests.conftest import uscc


def test_list_filters_by_name_section_qualification_and_stage(client_for, firms):
    client = client_for("admin")
    page = client.get("/enterprises/?q=公司2").content.decode()
    assert uscc(2) in page and uscc(1) not in page
    manufacturing = client.get("/enterprises/?section=C").content.decode()
    assert uscc(1) in manufacturing and uscc(3) in manufacturing and uscc(2) not in manufacturing
    high_tech = client.get("/enterprises/?year=2024&qualification=high_tech").content.decode()
    assert uscc(1) in high_tech and uscc(2) not in high_tech
    # 2023 is before the certificate (valid from 2023-11-01 … held on 31 Dec 2023 it is)
    assert uscc(1) in client.get("/enterprises/?year=2023&qualification=high_tech").content.decode()
    startup = client.get("/enterprises/?year=2024&stage=growth").content.decode()
    assert uscc(3) in startup  # revenue 3100 万, founded 2018: growth stage


def test_list_sorts_by_revenue(client_for, firms):
    page = client_for("admin").get("/enterprises/?year=2024&sort=-revenue").content.decode()
    assert page.index(uscc(3)) < page.index(uscc(2)) < page.index(uscc(1))


def test_list_query_count_does_not_grow_with_rows(client_for, firms):
    client = client_for("admin")
    client.get("/enterprises/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/enterprises/?year=2024")
    assert len(queries) <= 12


def test_detail_shows_years_derived_indicators_and_qualifications(client_for, firms):
    page = client_for("admin").get(f"/enterprises/{uscc(2)}/").content.decode()
    assert "2023" in page and "2024" in page
    assert "6.00%" in page  # R&D intensity 120/2000 in 2023
    own = client_for("enterprise").get(f"/enterprises/{uscc(1)}/").content.decode()
    assert "GR202313000001" in own


def test_upload_runs_the_import_and_shows_the_batch(client_for, zone, firms, tmp_path):
    path = write_registry(zone, tmp_path / "r.xlsx", fmt="xlsx")[0]
    book = openpyxl.load_workbook(path)
    book["年度数据"]["C2"] = 999.0  # revenue of the first yearly row
    book.save(path)
    client = client_for("admin")
    upload = SimpleUploadedFile("统计数据.xlsx", path.read_bytes())
    response = client.post("/imports/", {"zone": zone.pk, "file": upload, "mode": "strict"})
    assert response.status_code == 302 and "job=" in response["Location"]
    batch = ImportBatch.objects.latest("created_at")
    assert batch.written and batch.counts["yearly"]["changed"] == 1
    job = response["Location"].split("job=")[1]
    status = client.get(f"/jobs/{job}/").json()
    assert status["status"] == "done" and status["result"]["batch"] == batch.pk
    detail = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "统计数据.xlsx" in detail


def test_upload_rejects_other_file_types(client_for, zone, firms):
    upload = SimpleUploadedFile("evil.exe", b"MZ")
    response = client_for("admin").post(
        "/imports/", {"zone": zone.pk, "file": upload, "mode": "strict"}
    )
    assert (
        response.status_code == 200
        and not ImportBatch.objects.filter(file_name="evil.exe").exists()
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_page_downloads_the_registry(client_for, zone, firms, fmt):
    response = client_for("supervisor").get(
        f"/export/?zone={zone.pk}&format={fmt}&headers=zh&years=2024"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(body))
        assert book.sheetnames[:2] == ["企业", "年度数据"]
        years = {row[1] for row in book["年度数据"].iter_rows(min_row=2, values_only=True)}
        assert years == {2024}
    else:
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert any(n.endswith("registry.csv") for n in names)
