"""Bad files fail cleanly with a bilingual ImportFileError, before any bulk parsing."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

from innopoints.standard.tabular import ImportFileError, Limits, read_workbook
from tests.standard.tabular_builders import uscc

HEADER = "统一社会信用代码,企业名称,年度,营业收入（万元）\n"


def _csv(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _fails(path_or_bytes, code: str, filename: str | None = None, **kw) -> ImportFileError:
    with pytest.raises(ImportFileError) as info:
        read_workbook(path_or_bytes, filename, **kw)
    err = info.value
    assert err.code == code, (err.code, err.message_en)
    assert err.message_zh and err.message_en
    return err


def _xlsx(tmp_path: Path, rows: list[list], name: str = "data.xlsx", **sheet_ops) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业"
    for row in rows:
        ws.append(row)
    for ref in sheet_ops.get("merge", ()):
        ws.merge_cells(ref)
    path = tmp_path / name
    wb.save(path)
    return path


def test_png_renamed_xlsx(tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    err = _fails(path, "not_spreadsheet")
    assert "photo.xlsx" in err.message_zh


def test_text_renamed_xlsx(tmp_path):
    err = _fails(_csv(tmp_path, HEADER + "x,y,2023,1\n", name="fake.xlsx"), "not_spreadsheet")
    assert ".xlsx" in err.message_en


def test_uploaded_bytes_and_legacy_xls():
    _fails(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "not_spreadsheet", "old.xls")


def test_empty_csv(tmp_path):
    _fails(_csv(tmp_path, ""), "empty")
    _fails(_csv(tmp_path, "\n\n"), "empty")


def test_header_only_csv_has_no_data_rows(tmp_path):
    err = _fails(_csv(tmp_path, HEADER), "empty")
    assert "没有数据行" in err.message_zh


def test_empty_xlsx(tmp_path):
    _fails(_xlsx(tmp_path, []), "empty")


def test_missing_uscc_header(tmp_path):
    err = _fails(_csv(tmp_path, "企业名称,年度\nA,2023\n"), "missing_header")
    assert "统一社会信用代码" in err.message_zh and "uscc" in err.message_en


def test_missing_year_header(tmp_path):
    err = _fails(_csv(tmp_path, f"统一社会信用代码,营业收入\n{uscc(1)},5\n"), "missing_header")
    assert "年度" in err.message_zh


def test_missing_name_header_for_enterprise_sheet(tmp_path):
    path = _csv(tmp_path, f"统一社会信用代码,成立日期\n{uscc(1)},2020-01-01\n")
    err = _fails(path, "missing_header")
    assert "企业名称" in err.message_zh
    assert read_workbook(path, require_name=False).sheets[0].kind == "enterprise"


def test_duplicated_header(tmp_path):
    err = _fails(
        _csv(tmp_path, f"uscc,营业收入,营业收入（万元）,year\n{uscc(1)},1,2,2023\n"),
        "duplicate_header",
    )
    assert "营业收入" in err.message_zh
    _fails(_csv(tmp_path, f"uscc,name,name\n{uscc(1)},a,b\n"), "duplicate_header")


def test_formula_cells(tmp_path):
    rows = [["uscc", "name", "year", "revenue"], [uscc(1), "A", 2023, 10]]
    rows += [[uscc(2), "B", 2023, "=D2*2"], [uscc(3), "C", 2023, "=SUM(D2:D3)"]]
    err = _fails(_xlsx(tmp_path, rows), "formula_cells")
    assert err.cells == ("D3", "D4")
    assert "D3" in err.message_zh and "D4" in err.message_en


def test_merged_header_cells(tmp_path):
    rows = [["uscc", "name", None, "year"], [uscc(1), "A", None, 2023]]
    err = _fails(_xlsx(tmp_path, rows, merge=["B1:C1"]), "merged_header")
    assert "B1:C1" in err.message_zh


def test_title_row_merged_over_header(tmp_path):
    rows = [["2023 年度企业数据"], ["uscc", "name", "year"], [uscc(1), "A", 2023]]
    _fails(_xlsx(tmp_path, rows, merge=["A1:C1"]), "merged_header")


def test_merged_data_cells(tmp_path):
    rows = [["uscc", "name", "year"], [uscc(1), "A", 2023], [uscc(2), None, 2023]]
    _fails(_xlsx(tmp_path, rows, merge=["B2:B3"]), "merged_cells")


def test_million_row_csv(tmp_path):
    path = tmp_path / "big.csv"
    line = f"{uscc(1)},A,2023,1\n".encode()
    with path.open("wb") as fh:
        fh.write(HEADER.encode())
        for _ in range(100):
            fh.write(line * 10_000)
    err = _fails(path, "too_many_rows")
    assert "1,000,000" in err.message_zh and "300,000" in err.message_en


def _zip_xlsx(path: Path, sheet_xml_chunks, *, level: int = 6) -> Path:
    ct = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'worksheet+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    wb = (
        '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships"><sheets><sheet name="企业" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    wb_rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for chunk in sheet_xml_chunks:
                fh.write(chunk)
    return path


_SHEET_OPEN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _row(r: int) -> bytes:
    return f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>x</t></is></c></row>'.encode()


def test_million_row_xlsx_by_dimension(tmp_path):
    chunks = [
        _SHEET_OPEN,
        b'<dimension ref="A1:AN1000001"/><sheetData>',
        _row(1),
        b"</sheetData></worksheet>",
    ]
    err = _fails(_zip_xlsx(tmp_path / "big.xlsx", chunks), "too_many_rows")
    assert "1,000,000" in err.message_en


def test_many_rows_xlsx_by_streaming_count(tmp_path):
    def chunks():
        yield _SHEET_OPEN + b"<sheetData>"
        for start in range(1, 3001, 500):
            yield b"".join(_row(r) for r in range(start, start + 500))
        yield b"</sheetData></worksheet>"

    _fails(
        _zip_xlsx(tmp_path / "rows.xlsx", chunks()), "too_many_rows", limits=Limits(max_rows=1000)
    )


def test_zip_bomb(tmp_path):
    zeros = bytes(1 << 24)

    def chunks():
        yield _SHEET_OPEN
        for _ in range(64):  # 1 GiB of zeros
            yield zeros

    path = _zip_xlsx(tmp_path / "bomb.xlsx", chunks(), level=1)
    assert path.stat().st_size < 10 * 1024 * 1024
    err = _fails(path, "zip_bomb")
    assert "sheet1.xml" in err.message_en


def test_too_large_total(tmp_path):
    zeros = bytes(1 << 20)
    path = _zip_xlsx(tmp_path / "large.xlsx", [_SHEET_OPEN, zeros * 3])
    _fails(path, "too_large", limits=Limits(max_uncompressed=2 * 1024 * 1024))


def test_corrupt_zip(tmp_path):
    good = _xlsx(tmp_path, [["uscc", "name"], [uscc(1), "A"]])
    data = good.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    _fails(path, "corrupt")


def test_encrypted_zip_member(tmp_path):
    good = _xlsx(tmp_path, [["uscc", "name"], [uscc(1), "A"]])
    data = bytearray(good.read_bytes())
    # set the "encrypted" flag bit in every local and central directory header
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            (flags,) = struct.unpack_from("<H", data, i + offset)
            struct.pack_into("<H", data, i + offset, flags | 1)
            start = i + 4
    path = tmp_path / "locked.xlsx"
    path.write_bytes(bytes(data))
    _fails(path, "encrypted")


def test_encrypted_ooxml_in_ole_container():
    blob = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptionInfo".encode("utf-16-le")
    )
    _fails(blob, "encrypted", "secret.xlsx")


def test_sheets_recognised_by_headers_and_rows_numbered(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append(["本表用于导入"])
    y = wb.create_sheet("Sheet2")
    y.append(["统一社会信用代码", "年度", "营业收入（万元）"])
    y.append([uscc(1), 2023, 5])
    y.append([None, None, None])
    y.append([uscc(1), 2024, 6])
    q = wb.create_sheet("Sheet3")
    q.append(["uscc", "资质类型", "有效期起"])
    q.append([uscc(1), "高新技术企业", "2023-01-01"])
    n = wb.create_sheet("Sheet4")
    n.append([None])
    n.append([None, "uscc", "type", "occurred_on"])
    n.append([None, uscc(1), "经营异常", "2023-01-01"])
    path = tmp_path / "multi.xlsx"
    wb.save(path)
    book = read_workbook(path)
    assert [(s.name, s.kind) for s in book.sheets] == [
        ("Sheet2", "yearly"),
        ("Sheet3", "qualifications"),
        ("Sheet4", "negatives"),
    ]
    assert book.skipped_sheets == ["说明"]
    assert book.sheet("Sheet2").raw["_row"].to_list() == [2, 4]
    neg = book.sheet("Sheet4")
    assert neg.header_row == 2 and neg.raw["_row"].to_list() == [3]
