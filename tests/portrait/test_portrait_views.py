"""Every role against every portrait page and endpoint; the page's content and query bound;
the PDF (CJK font embedded, firm name extractable) and its 503 page without Pango."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import uscc

OWN = uscc(1)  # Z1, the enterprise user's firm
PEER = uscc(2)  # Z1, another firm
FOREIGN = uscc(9)  # Z2

ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


MATRIX = [
    ("/portrait/", expect(302, 200, 200, 200, 302, 404)),
    (f"/portrait/{OWN}/", expect(302, 302, 404, 302, 302, 404)),
    (f"/portrait/{OWN}/2024/", expect(302, 200, 404, 200, 200, 404)),
    (f"/portrait/{PEER}/2024/", expect(302, 200, 404, 200, 404, 404)),
    (f"/portrait/{FOREIGN}/2024/", expect(302, 404, 200, 404, 404, 404)),
    (f"/portrait/{OWN}/2023/", expect(302, 200, 404, 200, 200, 404)),
    (f"/portrait/{OWN}/corrections/new/", expect(302, 403, 404, 403, 200, 404)),
    (f"/portrait/{PEER}/corrections/new/", expect(302, 403, 404, 403, 404, 404)),
    ("/portrait/corrections/", expect(302, 200, 200, 200, 200, 403)),
    ("/portrait/corrections/{own_correction}/", expect(302, 200, 404, 200, 200, 404)),
    ("/portrait/corrections/{peer_correction}/", expect(302, 200, 404, 200, 404, 404)),
    (f"/api/portrait/{OWN}/2024", expect(401, 200, 404, 200, 200, 404)),
    (f"/api/portrait/{PEER}/2024", expect(401, 200, 404, 200, 404, 404)),
    (f"/api/portrait/{FOREIGN}/2024", expect(401, 404, 200, 404, 404, 404)),
    ("/api/portrait/corrections", expect(401, 200, 200, 200, 200, 200)),
    ("/api/portrait/corrections/{own_correction}", expect(401, 200, 404, 200, 200, 404)),
    ("/api/portrait/corrections/{peer_correction}", expect(401, 200, 404, 200, 404, 404)),
]

POSTS = [
    ("/portrait/corrections/{own_correction}/review/", expect(302, 302, 404, 403, 403, 404)),
    ("/api/portrait/corrections/{own_correction}/reject", expect(401, 200, 404, 403, 403, 404)),
]


@pytest.fixture
def placeholders(run, users, firms):
    """A submitted correction of the user's own firm and one of a peer firm."""
    from innopoints.portrait.actions import do_submit_correction

    own = do_submit_correction(users["enterprise"], firms[OWN], 2024, "revenue", 1.0, "")
    peer = do_submit_correction(None, firms[PEER], 2024, "revenue", 2.0, "")
    return {"own_correction": own.pk, "peer_correction": peer.pk}


@pytest.mark.parametrize("path,expected", MATRIX, ids=[p for p, _ in MATRIX])
def test_every_role_against_every_page(client_for, placeholders, path, expected):
    url = path.format(**placeholders)
    for role, status in expected.items():
        response = client_for(role).get(url)
        assert response.status_code == status, f"{role} GET {url}: {response.status_code}"


@pytest.mark.parametrize("path,expected", POSTS, ids=[p for p, _ in POSTS])
def test_every_role_against_every_review(client_for, placeholders, path, expected):
    from innopoints.portrait.models import Correction

    url = path.format(**placeholders)
    for role, status in expected.items():
        Correction.objects.filter(pk=placeholders["own_correction"]).update(
            status="submitted", reason="", reviewed_at=None
        )
        data = {"decision": "reject", "reason": "x"} if "/api/" not in url else {"reason": "x"}
        client = client_for(role)
        response = (
            client.post(url, data, content_type="application/json")
            if "/api/" in url
            else client.post(url, data)
        )
        assert response.status_code == status, f"{role} POST {url}: {response.status_code}"


def test_create_correction_by_role(client_for, run):
    for role, status in expect(401, 403, 404, 403, 201, 404).items():
        response = client_for(role).post(
            "/api/portrait/corrections",
            {"uscc": OWN, "year": 2024, "field": "revenue", "value": 3.0},
            content_type="application/json",
        )
        assert response.status_code == status, f"{role}: {response.status_code}"


def test_correction_lists_show_only_the_users_scope(client_for, placeholders):
    mine = client_for("enterprise").get("/api/portrait/corrections").json()
    assert [c["id"] for c in mine["items"]] == [placeholders["own_correction"]]
    assert client_for("bank").get("/api/portrait/corrections").json()["count"] == 0
    assert client_for("other_admin").get("/api/portrait/corrections").json()["count"] == 0
    assert client_for("admin").get("/api/portrait/corrections").json()["count"] == 2


def test_portrait_page_shows_every_section(client_for, run):
    page = client_for("enterprise").get(f"/portrait/{OWN}/2024/").content.decode()
    for anchor in (
        'id="identity"',
        'id="ranks"',
        'id="rank-interval"',
        'id="class-table"',
        'id="indicator-table"',
        'id="trend-table"',
        'id="key-indicators"',
        'id="suggestions"',
        'id="missing-data"',
        'id="near-misses"',
        'id="next-band"',
        'id="correction-form"',
        "vendor/echarts/echarts.min.js",
        'id="portrait-charts"',
    ):
        assert anchor in page, anchor
    assert "测试科技有限公司1" in page
    admin_page = client_for("admin").get(f"/portrait/{OWN}/2024/").content.decode()
    assert 'id="correction-form"' not in admin_page


def test_portrait_api_matches_the_page_content(client_for, run):
    from innopoints.scoring.models import FirmScore

    data = client_for("admin").get(f"/api/portrait/{OWN}/2024?lang=en").json()
    stored = FirmScore.objects.get(run=run, enterprise__uscc=OWN)
    assert data["score"]["total"] == pytest.approx(stored.total)
    assert data["score"]["ranks"]["zone"]["rank"] == stored.rank_zone
    assert data["run"]["run_hash"] == run.run_hash
    assert {r["id"] for r in data["indicators"]} == set(stored.indicator_points)
    assert data["guidance"]["suggestions"][0]["gain"] > 0


def test_enterprise_links(client_for, run):
    firm = client_for("enterprise")
    assert f"/portrait/{OWN}/" in firm.get(f"/enterprises/{OWN}/").content.decode()
    assert firm.get(f"/portrait/{OWN}/")["Location"] == f"/portrait/{OWN}/2024/"
    assert firm.get("/portrait/")["Location"] == f"/portrait/{OWN}/"


def test_portrait_page_query_count_is_bounded(client_for, run):

    client = client_for("admin")
    client.get(f"/portrait/{OWN}/2024/")  # warm the run's context
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"/portrait/{OWN}/2024/").status_code == 200
    assert len(small) <= 20, [q["sql"] for q in small.captured_queries]


def _pdf_or_skip(client):
    from innopoints.portrait.pdf import pdf_engine

    engine, problem = pdf_engine()
    if engine is None:
        if os.environ.get("INNOPOINTS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WeasyPrint cannot run (Pango missing?): {problem}")
        pytest.skip(f"WeasyPrint cannot run here: {problem}")
    return client.get(f"/portrait/{OWN}/2024/pdf/")


def test_pdf_embeds_cjk_fonts_and_the_firm_name(client_for, run):
    import io

    response = _pdf_or_skip(client_for("admin"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() or "" for page in reader.pages)
    compact = text.replace(" ", "").replace("\n", "")
    assert "测试科技有限公司1" in compact
    assert OWN in compact
    run_hash = run.run_hash.split(":", 1)[1]
    assert run_hash[:16] in compact
    embedded = set()  # base font names of fonts that carry a font program (FontFile*)
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptors = [font.get("/FontDescriptor")] + [
                d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts") or []
            ]
            for descriptor in descriptors:
                descriptor = descriptor.get_object() if descriptor is not None else {}
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    embedded.add(str(font.get("/BaseFont")))
    assert any("NotoSansCJK" in f.replace("-", "") for f in embedded), embedded


def test_pdf_without_pango_is_a_bilingual_503(client_for, run, monkeypatch):
    from innopoints.portrait import views

    monkeypatch.setattr(views, "pdf_engine", lambda: (None, "cannot load library 'pango-1.0-0'"))
    response = client_for("admin").get(f"/portrait/{OWN}/2024/pdf/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "PDF 暂不可用" in page and "PDF export unavailable" in page and "libpango" in page
    assert client_for("bank").get(f"/portrait/{OWN}/2024/pdf/").status_code == 404
