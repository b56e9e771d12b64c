"""A bank loads its past loans: checked row by row, strict, idempotent, and then used by
the calibration and the default-rate statistics."""

from __future__ import annotations

import io

from openpyxl import Workbook

from innopoints.finance import actions, calibration
from innopoints.finance.models import Loan
from tests.api.conftest import bearer, make_token
from tests.conftest import uscc

GOOD = (
    "统一社会信用代码,产品代码,放款金额,利率,期限,放款日期,状态,已还本金,结清日期,违约日期,额度档次\n"
    f"{uscc(1)},jfd,100,4.2,12,2023-03-01,结清,,2024-03-01,,≥80\n"
    f"{uscc(2)},jfd,200,4.5,12,2023-05-10,违约,50,,2024-01-15,≥80\n"
    f"{uscc(3)},jfd,80,4.0,24,2024-06-01,在贷,20,,,≥0\n"
)


def test_history_import_is_strict_idempotent_and_feeds_calibration(users, firms, bank, product):
    out = actions.do_import_loan_history(users["bank"], bank, GOOD.encode("utf-8"), "book.csv")
    assert (out.read, out.created, out.skipped, out.errors) == (3, 3, 0, [])
    defaulted = Loan.objects.get(status="defaulted")
    assert defaulted.loss == 150 and defaulted.imported
    running = Loan.objects.get(status="disbursed")
    assert running.installments.count() == 24 and running.outstanding == 60
    again = actions.do_import_loan_history(users["bank"], bank, GOOD.encode("utf-8"), "book.csv")
    assert (again.created, again.skipped) == (0, 3)
    by_grade = {r["grade"]: r for r in calibration.outcomes(product).to_dicts()}
    assert by_grade["≥80"]["loans"] == 2 and by_grade["≥80"]["defaults"] == 1


def test_history_errors_name_row_column_and_value(users, firms, bank, product):
    bad = (
        "uscc,product,amount,rate,term_months,disbursed_on,status,settled_on\n"
        f"{uscc(1)},jfd,-5,4,12,2023-01-01,repaid,2023-12-01\n"
        f"{uscc(9)},jfd,10,4,12,2023-01-01,running,\n"
        f"{uscc(2)},nope,10,4,12,2099-01-01,repaid,\n"
    )
    out = actions.do_import_loan_history(users["bank"], bank, bad.encode("gb18030"), "bad.csv")
    assert out.created == 0 and Loan.objects.count() == 0
    text = "\n".join(out.errors)
    assert "row 2, column amount (-5)" in text
    assert f"row 3, column uscc ({uscc(9)}): not a firm of a partner zone" in text  # other zone
    assert "row 4, column product (nope)" in text and "row 4, column disbursed_on" in text
    assert "row 4, column settled_on (empty)" in text
    assert "第 2 行" in text


def test_history_from_xlsx_over_the_api(client, users, firms, bank, product):
    wb = Workbook()
    ws = wb.active
    for line in GOOD.splitlines():
        ws.append(line.split(","))
    buffer = io.BytesIO()
    wb.save(buffer)
    token = bearer(make_token(users["bank"]))
    r = client.post(
        "/api/finance/loan-history",
        {"file": io.BytesIO(buffer.getvalue())},
        **token,
    )
    assert r.status_code == 200, r.content
    assert r.json()["created"] == 3
    r = client.post("/api/finance/loan-history", {"file": io.BytesIO(b"not,a\\nbook")}, **token)
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    admin = bearer(make_token(users["admin"]))
    assert (
        client.post("/api/finance/loan-history", {"file": io.BytesIO(b"x")}, **admin).status_code
        == 403
    )


def test_history_on_the_bank_desk(users, firms, bank, product, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    banker = client_for("bank")
    bad = banker.post(
        "/finance/bank/",
        {"form": "history", "file": SimpleUploadedFile("b.csv", b"uscc,product\n1,2\n")},
    )
    assert bad.status_code == 400 and "missing columns" in bad.content.decode()
    ok = banker.post(
        "/finance/bank/",
        {"form": "history", "file": SimpleUploadedFile("b.csv", GOOD.encode("utf-8"))},
    )
    assert ok.status_code == 302 and Loan.objects.filter(imported=True).count() == 3
