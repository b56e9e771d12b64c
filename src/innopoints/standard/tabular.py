"""Reading, checking, validating and writing enterprise data files (pure, no Django).

The import pipeline is three pure steps; the Django import action diffs the result
against the database and writes:

1. `read_workbook(source, filename)` — checks the file *before* anything is parsed in
   bulk (zip bomb, encryption, formulas, merged header cells, row limit, missing or
   duplicated headers) and raises a bilingual `ImportFileError`; then reads every cell
   as a string (calamine for .xlsx, Polars for .csv/.tsv in UTF-8, UTF-8 with BOM or
   GB18030/GBK), keeping each row's Excel row number and each column's header as written.
2. `validate(workbook, ...)` — types and checks every column with Polars expressions
   (no loop over rows) and returns typed frames plus a list of `ImportIssue`s.
3. `write_error_report(...)` (in `report.py`) — an .xlsx with the bad cells marked.

`write_tables(frames, path, ...)` exports the registry in the same shape the reader
accepts: .xlsx with one sheet per table (企业 / 年度数据 / 资质 / 负面记录); or .csv, where
`path` gets the combined enterprise + yearly table (one row per uscc + year, enterprise
fields repeated; an enterprise without yearly data gets one row with an empty year) and
qualifications / negative records, when given, go to `<stem>-资质.csv` and
`<stem>-负面记录.csv` beside it (each is importable alone, or all together with
`read_files`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal
from xml.etree import ElementTree

import polars as pl

from innopoints.standard.catalogue import (
    ENTERPRISE_FIELDS,
    LEVELS,
    NEGATIVE_FIELDS,
    NEGATIVE_TYPES,
    QUALIFICATION_FIELDS,
    QUALIFICATION_TYPES,
    YEARLY_FIELDS,
    Field,
    Kind,
    Table,
    header_lookup,
    resolve_header,
)
from innopoints.standard.codes import (
    industry_problem_expr,
    region_problem_expr,
    uscc_problem_expr,
)

SheetKind = Literal["enterprise", "yearly", "combined", "qualifications", "negatives"]
TABLES = ("enterprises", "yearly", "qualifications", "negatives")
SHEET_NAMES = {
    "enterprises": "企业",
    "yearly": "年度数据",
    "qualifications": "资质",
    "negatives": "负面记录",
}

# ---------------------------------------------------------------------------------------
# Errors and limits
# ---------------------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing was parsed in bulk."""

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        sheet: str | None = None,
        cells: Sequence[str] = (),
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.sheet = sheet
        self.cells = tuple(cells)

    def message(self, lang: str = "zh") -> str:
        """The message in `lang` ('zh' or 'en')."""
        return self.message_en if lang.startswith("en") else self.message_zh


@dataclass(frozen=True)
class Limits:
    """Safety limits checked before a file is parsed."""

    max_rows: int = 300_000  # data rows per sheet
    max_uncompressed: int = 200 * 1024 * 1024  # total of an .xlsx's members, or a csv's size
    max_ratio: float = 100.0  # compression ratio allowed on large members
    ratio_min_size: int = 10 * 1024 * 1024  # members smaller than this may compress better
    max_formula_cells_listed: int = 5


DEFAULT_LIMITS = Limits()

# ---------------------------------------------------------------------------------------
# Workbook model
# ---------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One sheet (or CSV file) as read: every cell a string, every row its Excel number."""

    name: str
    kind: SheetKind
    headers: list[str]  # header texts as written, in column order (unrecognised too)
    fields: dict[str, str]  # recognised header text -> field code
    raw: pl.DataFrame  # String columns named by header text, plus "_row" (Int64)
    header_row: int = 1  # the Excel row holding the headers

    @property
    def columns(self) -> dict[str, str]:
        """Field code -> header as written."""
        return {code: header for header, code in self.fields.items()}

    @property
    def unknown_headers(self) -> list[str]:
        """Headers that name no field (ignored on import)."""
        return [h for h in self.headers if h not in self.fields]

    def data(self) -> pl.DataFrame:
        """The recognised columns renamed to field codes, plus `_row` and `_sheet`."""
        return self.raw.select(
            pl.col("_row"),
            pl.lit(self.name).alias("_sheet"),
            *[pl.col(h).alias(code) for h, code in self.fields.items()],
        )


@dataclass
class Workbook:
    """A read file: its data sheets, in file order."""

    filename: str
    sheets: list[Sheet]
    skipped_sheets: list[str] = field(default_factory=list)  # empty or without any field

    def sheet(self, name: str) -> Sheet:
        """The sheet called `name`."""
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)


# ---------------------------------------------------------------------------------------
# Field sets and header recognition
# ---------------------------------------------------------------------------------------

_QUAL_ONLY = {"type", "certificate_no", "valid_from", "valid_until"}
_NEG_ONLY = {"occurred_on", "cleared_on"}


def _fields_of(custom_fields: Sequence[Field]) -> dict[str, tuple[Field, ...]]:
    ent = (*ENTERPRISE_FIELDS, *(f for f in custom_fields if f.table == Table.ENTERPRISE))
    yearly = (*YEARLY_FIELDS, *(f for f in custom_fields if f.table == Table.YEARLY))
    return {
        "enterprise": ent,
        "yearly": yearly,
        "qualifications": QUALIFICATION_FIELDS,
        "negatives": NEGATIVE_FIELDS,
    }


def _classify(codes: set[str], ent_codes: set[str], yearly_codes: set[str]) -> SheetKind | None:
    if "type" in codes and ("valid_from" in codes or "valid_until" in codes):
        return "qualifications"
    if "occurred_on" in codes:
        return "negatives"
    if "year" in codes or (codes & (yearly_codes - {"uscc"})):
        has_ent = bool(codes & (ent_codes - {"uscc"}))
        return "combined" if has_ent else "yearly"
    if codes & ent_codes:
        return "enterprise"
    return None


def _resolve_headers(
    sheet_name: str,
    headers: list[str],
    custom_fields: Sequence[Field],
) -> tuple[SheetKind | None, dict[str, str]]:
    """Classify a sheet by its headers and map header text -> code (raises on duplicates)."""
    sets = _fields_of(custom_fields)
    lookups = {kind: header_lookup(fields) for kind, fields in sets.items()}
    ent_lookup = {**lookups["yearly"], **lookups["enterprise"]}
    all_codes: dict[str, str] = {}
    for h in headers:
        code = resolve_header(h, ent_lookup)
        if code is None:
            code = resolve_header(h, lookups["qualifications"]) or resolve_header(
                h, lookups["negatives"]
            )
        if code is not None:
            all_codes[h] = code
    ent_codes = {f.code for f in sets["enterprise"]}
    yearly_codes = {f.code for f in sets["yearly"]}
    kind = _classify(set(all_codes.values()), ent_codes, yearly_codes)
    if kind is None:
        return None, {}
    if kind in ("qualifications", "negatives"):
        lookup = lookups[kind]
    elif kind == "enterprise":
        lookup = lookups["enterprise"]
    elif kind == "yearly":
        lookup = {**lookups["yearly"], "uscc": "uscc"}
        lookup.update({k: v for k, v in lookups["enterprise"].items() if v == "uscc"})
    else:
        lookup = ent_lookup
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for h in headers:
        code = resolve_header(h, lookup)
        if code is None:
            continue
        if code in seen:
            raise ImportFileError(
                "duplicate_header",
                f"工作表「{sheet_name}」的列「{seen[code]}」与「{h}」是同一字段（{code}），请删除其中一列",
                f"Sheet '{sheet_name}': columns '{seen[code]}' and '{h}' name the same field "
                f"({code}); remove one of them",
                sheet=sheet_name,
            )
        seen[code] = h
        mapping[h] = code
    return kind, mapping


def _check_required_headers(
    sheet_name: str, kind: SheetKind, codes: set[str], require_name: bool
) -> None:
    required: list[tuple[str, str, str]] = [("uscc", "统一社会信用代码", "uscc")]
    if kind in ("enterprise", "combined") and require_name:
        required.append(("name", "企业名称", "name"))
    if kind in ("yearly", "combined"):
        required.append(("year", "年度", "year"))
    if kind == "qualifications":
        required += [("type", "资质类型", "type"), ("valid_from", "有效期起", "valid_from")]
    if kind == "negatives":
        required += [("type", "负面类型", "type"), ("occurred_on", "发生日期", "occurred_on")]
    for code, zh, en in required:
        if code not in codes:
            raise ImportFileError(
                "missing_header",
                f"工作表「{sheet_name}」缺少必需的列「{zh}」（{code}）",
                f"Sheet '{sheet_name}' lacks the required column '{en}' ({code})",
                sheet=sheet_name,
            )


# ---------------------------------------------------------------------------------------
# File checks
# ---------------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGICS = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"\x1f\x8b",
    b"Rar!",
    b"7z\xbc\xaf",
    b"BM",
)


def _not_spreadsheet(filename: str, why_zh: str, why_en: str) -> ImportFileError:
    return ImportFileError(
        "not_spreadsheet",
        f"文件「{filename}」不是可导入的表格（{why_zh}）；请上传 .xlsx 或 .csv 文件",
        f"'{filename}' is not an importable spreadsheet ({why_en}); upload an .xlsx or .csv file",
    )


def _empty(filename: str) -> ImportFileError:
    return ImportFileError(
        "empty",
        f"文件「{filename}」没有数据行（表头在第 1 行，数据从第 2 行开始）",
        f"'{filename}' has no data rows (headers in row 1, data from row 2)",
    )


def _too_many_rows(filename: str, sheet: str, rows: int, limits: Limits) -> ImportFileError:
    return ImportFileError(
        "too_many_rows",
        f"文件「{filename}」的工作表「{sheet}」约有 {rows:,} 行数据，超过上限 {limits.max_rows:,} 行；请拆分后分批导入",
        f"Sheet '{sheet}' of '{filename}' has about {rows:,} data rows, more than the limit of "
        f"{limits.max_rows:,}; split the file and import it in parts",
        sheet=sheet,
    )


def _too_large(filename: str, size: int, limits: Limits) -> ImportFileError:
    mb = limits.max_uncompressed // (1024 * 1024)
    return ImportFileError(
        "too_large",
        f"文件「{filename}」解压后约 {size / 1024 / 1024:,.0f} MB，超过上限 {mb} MB",
        f"'{filename}' is about {size / 1024 / 1024:,.0f} MB uncompressed, more than the "
        f"limit of {mb} MB",
    )


def _col_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode():
        n = n * 26 + ord(ch) - 64
    return n


def _check_zip(zf: zipfile.ZipFile, filename: str, limits: Limits) -> None:
    """Encryption, declared sizes and compression ratios, before anything is extracted."""
    total = 0
    for info in zf.infolist():
        if info.flag_bits & 0x1:
            raise ImportFileError(
                "encrypted",
                f"文件「{filename}」已加密，请取消密码保护后再导入",
                f"'{filename}' is encrypted; remove the password protection and import again",
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_min_size and ratio > limits.max_ratio:
            raise ImportFileError(
                "zip_bomb",
                f"文件「{filename}」中的「{info.filename}」压缩比异常（{ratio:,.0f} 倍，解压后 "
                f"{info.file_size / 1024 / 1024:,.0f} MB），疑似压缩炸弹，已拒绝",
                f"'{filename}': member '{info.filename}' has an abnormal compression ratio "
                f"({ratio:,.0f}x, {info.file_size / 1024 / 1024:,.0f} MB uncompressed); "
                f"rejected as a likely zip bomb",
            )
    if total > limits.max_uncompressed:
        raise _too_large(filename, total, limits)


def _xlsx_sheet_members(zf: zipfile.ZipFile, filename: str) -> list[tuple[str, str]]:
    """(sheet name, zip member) for each worksheet, in workbook order."""
    names = set(zf.namelist())
    if "xl/workbook.xml" not in names:
        raise _not_spreadsheet(
            filename, "压缩包中没有 Excel 工作簿", "a zip without an Excel workbook"
        )
    try:
        wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels_xml = (
            zf.read("xl/_rels/workbook.xml.rels") if "xl/_rels/workbook.xml.rels" in names else b""
        )
        rels = ElementTree.fromstring(rels_xml) if rels_xml else None
    except (ElementTree.ParseError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise _corrupt(filename) from exc
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels:
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id", "")] = str(PurePosixPath(path))
    out = []
    rid_attr = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    for el in wb.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            member = targets.get(el.get(rid_attr, ""), "")
            if member in names:
                out.append((el.get("name", member), member))
    return out


def _corrupt(filename: str) -> ImportFileError:
    return ImportFileError(
        "corrupt",
        f"文件「{filename}」已损坏，无法读取；请用 Excel 重新保存为 .xlsx 后再导入",
        f"'{filename}' is damaged and cannot be read; save it again as .xlsx in Excel",
    )


@dataclass
class _SheetScan:
    header_row: int | None = None  # first row holding a value
    rows: int = 0  # <row> elements
    dimension_rows: int | None = None
    formulas: list[str] = field(default_factory=list)
    formula_count: int = 0
    merges: list[tuple[int, int, str]] = field(default_factory=list)  # (row1, row2, ref)


_RE_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_RE_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_RE_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_RE_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]+\d+)"')
_RE_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_RE_VALUE_CELL = re.compile(
    rb'<(?:\w+:)?c\s[^>]*?\br="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*(?:<(?:\w+:)?f[^>]*>[^<]*</(?:\w+:)?f>\s*)?'
    rb"<(?:\w+:)?(?:v>[^<]|is>)"
)


def _scan_sheet(
    zf: zipfile.ZipFile, member: str, sheet: str, filename: str, limits: Limits
) -> _SheetScan:
    """Stream one sheet's XML once: dimension, row count, formula cells, merged cells."""
    scan = _SheetScan()
    carry = b""
    keep = 4096
    read = 0
    try:
        with zf.open(member) as fh:
            first = True
            while True:
                chunk = fh.read(1 << 20)
                read += len(chunk)
                if read > limits.max_uncompressed:
                    raise _too_large(filename, read, limits)
                buf = carry + chunk
                last = not chunk
                cut = len(buf) if last else max(len(buf) - keep, 0)
                if first:
                    first = False
                    m = _RE_DIMENSION.search(buf)
                    if m and m.group(4):
                        scan.dimension_rows = int(m.group(4)) - int(m.group(2))
                        if scan.dimension_rows > limits.max_rows:
                            raise _too_many_rows(filename, sheet, scan.dimension_rows, limits)
                if scan.header_row is None:
                    m = _RE_VALUE_CELL.search(buf)
                    if m and m.start() < cut:
                        scan.header_row = int(m.group(1))
                scan.rows += sum(1 for m in _RE_ROW.finditer(buf) if m.start() < cut)
                if scan.rows - 1 > limits.max_rows:
                    raise _too_many_rows(filename, sheet, scan.rows - 1, limits)
                for m in _RE_FORMULA.finditer(buf):
                    if m.start() >= cut:
                        break
                    scan.formula_count += 1
                    if len(scan.formulas) < limits.max_formula_cells_listed:
                        refs = _RE_CELL_REF.findall(buf, max(0, m.start() - keep), m.start())
                        scan.formulas.append(refs[-1].decode() if refs else "?")
                for m in _RE_MERGE.finditer(buf):
                    if m.start() >= cut:
                        break
                    r1 = int(m.group(2))
                    r2 = int(m.group(4) or m.group(2))
                    ref = m.group(0).split(b'"')[1].decode()
                    scan.merges.append((r1, r2, ref))
                carry = buf[cut:]
                if last:
                    break
    except (zipfile.BadZipFile, EOFError, OSError) as exc:  # CRC or size mismatch
        raise _corrupt(filename) from exc
    return scan


def _check_scan(scan: _SheetScan, sheet: str, filename: str) -> None:
    if scan.formula_count:
        cells = "、".join(scan.formulas)
        more = f" 等 {scan.formula_count} 个" if scan.formula_count > len(scan.formulas) else ""
        more_en = (
            f" ({scan.formula_count} in all)" if scan.formula_count > len(scan.formulas) else ""
        )
        raise ImportFileError(
            "formula_cells",
            f"工作表「{sheet}」含公式单元格（{cells}{more}）；请把公式转为数值（复制后“选择性粘贴-数值”）再导入",
            f"Sheet '{sheet}' contains formula cells ({', '.join(scan.formulas)}{more_en}); "
            f"replace formulas by their values (copy, paste special → values) and import again",
            sheet=sheet,
            cells=scan.formulas,
        )
    header = scan.header_row or 1
    for r1, r2, ref in scan.merges:
        if r1 <= header <= r2:
            raise ImportFileError(
                "merged_header",
                f"工作表「{sheet}」的表头有合并单元格 {ref}；表头必须是一行、每列一个名称",
                f"Sheet '{sheet}' has merged header cells {ref}; the header must be one row "
                f"with one name per column",
                sheet=sheet,
                cells=[ref],
            )
    if scan.merges:
        refs = [ref for _, _, ref in scan.merges[:5]]
        raise ImportFileError(
            "merged_cells",
            f"工作表「{sheet}」有合并单元格（{'、'.join(refs)}）；合并单元格只在第一个格里有值，请取消合并并填满",
            f"Sheet '{sheet}' has merged cells ({', '.join(refs)}); a merged range holds its "
            f"value only in the first cell — unmerge and fill every cell",
            sheet=sheet,
            cells=refs,
        )


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def _frame_from_grid(grid: pl.DataFrame, header_row: int) -> tuple[list[str], pl.DataFrame]:
    """Split a headerless string grid into (headers, frame with `_row`), dropping blank rows."""
    if grid.height == 0 or grid.width == 0:
        return [], pl.DataFrame()
    first = grid.row(0)
    headers: list[str] = []
    keep: list[str] = []
    for i, (col, value) in enumerate(zip(grid.columns, first, strict=True)):
        text = "" if value is None else str(value).strip()
        if not text:
            # a column without a header: ignored (reported as unknown when it holds data)
            if grid.get_column(col).slice(1).drop_nulls().len() == 0:
                continue
            text = f"（第 {i + 1} 列无表头）"
        if text in headers:
            text_dup = text
            raise ImportFileError(
                "duplicate_header",
                f"表头「{text_dup}」出现了不止一次",
                f"The header '{text_dup}' appears more than once",
            )
        headers.append(text)
        keep.append(col)
    body = grid.slice(1).select(
        [pl.col(c).cast(pl.String).alias(h) for c, h in zip(keep, headers, strict=True)]
    )
    body = body.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + header_row + 1).alias("_row")
    )
    stripped = [pl.col(h).str.strip_chars().replace("", None) for h in headers]
    body = body.with_columns(stripped)
    body = body.filter(pl.any_horizontal([pl.col(h).is_not_null() for h in headers]))
    return headers, body


def _make_sheet(
    name: str,
    headers: list[str],
    body: pl.DataFrame,
    custom_fields: Sequence[Field],
    require_name: bool,
    header_row: int = 1,
) -> Sheet | None:
    kind, mapping = _resolve_headers(name, headers, custom_fields)
    if kind is None:
        return None
    _check_required_headers(name, kind, set(mapping.values()), require_name)
    return Sheet(
        name=name, kind=kind, headers=headers, fields=mapping, raw=body, header_row=header_row
    )


def _decode_text(data: bytes, filename: str) -> str:
    if b"\x00" in data[:4096]:
        raise _not_spreadsheet(filename, "二进制文件", "binary content")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _not_spreadsheet(
            filename, "无法识别的文本编码", "text encoding is neither UTF-8 nor GB18030"
        ) from exc


def _read_csv(
    data: bytes,
    filename: str,
    separator: str,
    custom_fields: Sequence[Field],
    require_name: bool,
    limits: Limits,
) -> Workbook:
    if len(data) > limits.max_uncompressed:
        raise _too_large(filename, len(data), limits)
    # A cheap upper bound of the row count before anything is parsed.
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines - 1 > limits.max_rows:
        raise _too_many_rows(filename, Path(filename).stem, lines - 1, limits)
    text = _decode_text(data, filename)
    if not text.strip():
        raise _empty(filename)
    try:
        grid = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            infer_schema=False,
            separator=separator,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise ImportFileError(
            "malformed_csv",
            f"文件「{filename}」不是格式正确的 CSV（{str(exc).splitlines()[0][:200]}）",
            f"'{filename}' is not a well-formed CSV ({str(exc).splitlines()[0][:200]})",
        ) from exc
    name = Path(filename).stem or "csv"
    headers, body = _frame_from_grid(grid, 1)
    if not headers or body.height == 0:
        raise _empty(filename)
    sheet = _make_sheet(name, headers, body, custom_fields, require_name)
    if sheet is None:
        raise ImportFileError(
            "missing_header",
            f"文件「{filename}」的表头中没有可识别的字段（如「统一社会信用代码」）",
            f"'{filename}' has no recognisable column headers (e.g. 'uscc')",
        )
    return Workbook(filename=filename, sheets=[sheet])


def _read_xlsx(
    data: bytes,
    filename: str,
    custom_fields: Sequence[Field],
    require_name: bool,
    limits: Limits,
) -> Workbook:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise _corrupt(filename) from exc
    with zf:
        _check_zip(zf, filename, limits)
        members = _xlsx_sheet_members(zf, filename)
        scans = {}
        for sheet_name, member in members:
            scan = _scan_sheet(zf, member, sheet_name, filename, limits)
            _check_scan(scan, sheet_name, filename)
            scans[sheet_name] = scan
    try:
        import fastexcel

        reader = fastexcel.read_excel(data)
    except Exception as exc:  # calamine reports its own error types
        raise _corrupt(filename) from exc
    sheets: list[Sheet] = []
    skipped: list[str] = []
    for sheet_name, _member in members:
        scan = scans[sheet_name]
        if scan.header_row is None:
            skipped.append(sheet_name)
            continue
        try:
            grid = reader.load_sheet(sheet_name, header_row=None, dtypes="string").to_polars()
        except Exception as exc:
            raise _corrupt(filename) from exc
        headers, body = _frame_from_grid(grid, scan.header_row)
        if not headers or body.height == 0:
            skipped.append(sheet_name)
            continue
        sheet = _make_sheet(sheet_name, headers, body, custom_fields, require_name, scan.header_row)
        if sheet is None:
            skipped.append(sheet_name)
            continue
        sheets.append(sheet)
    if not sheets:
        if any(scans[s].header_row for s, _ in members) and skipped:
            # there is content, but no sheet names any field
            non_empty = [s for s, _ in members if scans[s].header_row]
            has_rows = any(scans[s].rows > 1 for s in non_empty)
            if has_rows:
                raise ImportFileError(
                    "missing_header",
                    f"文件「{filename}」的工作表中没有可识别的表头（如「统一社会信用代码」），或只有表头没有数据",
                    f"No sheet of '{filename}' has recognisable column headers (e.g. 'uscc') "
                    f"with data rows below them",
                )
        raise _empty(filename)
    return Workbook(filename=filename, sheets=sheets, skipped_sheets=skipped)


def read_workbook(
    source: str | Path | bytes,
    filename: str | None = None,
    *,
    custom_fields: Sequence[Field] = (),
    require_name: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> Workbook:
    """Check and read an .xlsx, .csv or .tsv file; raises `ImportFileError` on a bad file.

    `source` is a path or the uploaded bytes; `filename` (default: the path's name) picks
    the format by extension together with the file's magic bytes. `require_name=False`
    lets an enterprise sheet without a name column through (updates of known firms; the
    validation then requires a name for new ones).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        filename = filename or "upload"
    else:
        path = Path(source)
        filename = filename or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImportFileError(
                "unreadable", f"无法读取文件「{filename}」", f"Cannot read '{filename}'"
            ) from exc
        if size > limits.max_uncompressed:
            raise _too_large(filename, size, limits)
        data = path.read_bytes()
    if not data.strip():
        raise _empty(filename)
    ext = Path(filename).suffix.lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _read_xlsx(data, filename, custom_fields, require_name, limits)
    if data.startswith(_OLE_MAGIC):
        if (
            b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data[: 1 << 20]
            or b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d" in data[: 1 << 20]
        ):
            raise ImportFileError(
                "encrypted",
                f"文件「{filename}」已加密，请取消密码保护后再导入",
                f"'{filename}' is encrypted; remove the password protection and import again",
            )
        raise _not_spreadsheet(
            filename,
            "旧版 .xls 格式，请在 Excel 中另存为 .xlsx",
            "legacy .xls format; save it as .xlsx in Excel",
        )
    if any(data.startswith(m) for m in _BINARY_MAGICS):
        raise _not_spreadsheet(filename, "图片或其他二进制文件", "an image or other binary file")
    if ext in (".csv", ".tsv", ".txt"):
        separator = "\t" if ext == ".tsv" else ","
        return _read_csv(data, filename, separator, custom_fields, require_name, limits)
    if ext in (".xlsx", ".xlsm"):
        raise _not_spreadsheet(
            filename,
            "扩展名是 .xlsx，但内容不是 Excel 工作簿",
            "named .xlsx but not an Excel workbook",
        )
    raise _not_spreadsheet(
        filename, f"不支持的扩展名「{ext or '无'}」", f"unsupported extension '{ext}'"
    )


def read_files(
    sources: Iterable[str | Path],
    *,
    custom_fields: Sequence[Field] = (),
    require_name: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> Workbook:
    """Read several files (e.g. the CSVs `write_tables` writes) as one workbook.

    Each sheet is named by its file's stem (or `file/sheet` for an .xlsx with several).
    """
    sheets: list[Sheet] = []
    skipped: list[str] = []
    names: list[str] = []
    for src in sources:
        wb = read_workbook(
            src, custom_fields=custom_fields, require_name=require_name, limits=limits
        )
        names.append(wb.filename)
        for s in wb.sheets:
            if Path(wb.filename).suffix.lower() not in (".csv", ".tsv", ".txt"):
                s = replace(s, name=f"{Path(wb.filename).stem}/{s.name}")
            sheets.append(s)
        skipped += wb.skipped_sheets
    return Workbook(filename=", ".join(names), sheets=sheets, skipped_sheets=skipped)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ImportIssue:
    """One problem in one cell (or row) of an uploaded file."""

    severity: Severity
    sheet: str
    row: int  # Excel row number as the user sees it (header = 1)
    column: str  # header as written in the file
    field: str  # field code
    value: str | None  # the cell as typed
    code: str  # machine-readable reason
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        """The message in `lang` ('zh' or 'en')."""
        return self.message_en if lang.startswith("en") else self.message_zh


ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "severity": pl.String(),
    "sheet": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "code": pl.String(),
    "message_zh": pl.String(),
    "message_en": pl.String(),
}


@dataclass
class ValidationResult:
    """Typed frames (`_sheet`, `_row`, `_valid` columns added) and the issues found."""

    enterprises: pl.DataFrame
    yearly: pl.DataFrame
    qualifications: pl.DataFrame
    negatives: pl.DataFrame
    issues_frame: pl.DataFrame  # ISSUE_SCHEMA, sorted by sheet order and row

    @property
    def issues(self) -> list[ImportIssue]:
        """Every issue as an `ImportIssue`."""
        return [ImportIssue(**row) for row in self.issues_frame.iter_rows(named=True)]

    @property
    def errors(self) -> pl.DataFrame:
        """The blocking issues."""
        return self.issues_frame.filter(pl.col("severity") == "error")

    @property
    def warnings(self) -> pl.DataFrame:
        """The non-blocking issues."""
        return self.issues_frame.filter(pl.col("severity") == "warning")

    @property
    def has_errors(self) -> bool:
        """True when any issue blocks (strict mode then writes nothing)."""
        return self.errors.height > 0

    def tables(self, *, internal: bool = False) -> dict[str, pl.DataFrame]:
        """The four frames by table name; without `_sheet`/`_row`/`_valid` unless `internal`."""
        frames = {t: getattr(self, t) for t in TABLES}
        if internal:
            return frames
        return {t: f.drop([c for c in f.columns if c.startswith("_")]) for t, f in frames.items()}

    def valid_only(self) -> ValidationResult:
        """The same result with only the valid rows in each frame (valid-rows mode)."""
        return replace(
            self,
            **{t: getattr(self, t).filter(pl.col("_valid")) for t in TABLES},
        )

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per table: (valid rows, all rows)."""
        return {
            t: (int(f["_valid"].sum()), f.height) for t, f in self.tables(internal=True).items()
        }


# Message templates: {row} {column} {label} {value} come from the issue; others are filled
# per field before formatting.
MESSAGES: dict[str, tuple[str, str]] = {
    "required": (
        "第 {row} 行「{column}」为空，此项必填",
        "Row {row}: '{label}' is empty but required",
    ),
    "not_a_number": (
        "第 {row} 行「{column}」= {value} 不是有效数字",
        "Row {row}: '{label}' = {value} is not a number",
    ),
    "not_integer": (
        "第 {row} 行「{column}」= {value} 应为整数",
        "Row {row}: '{label}' = {value} must be a whole number",
    ),
    "ratio_not_fraction": (
        "第 {row} 行「{column}」= {value}：比例应填小数（如 0.05）或百分数（如 5%），不能填 {value}",
        "Row {row}: '{label}' = {value}: ratios are fractions (0.05) or percentages (5%)",
    ),
    "percent_not_allowed": (
        "第 {row} 行「{column}」= {value}：此项不是比例，不能填百分数",
        "Row {row}: '{label}' = {value}: this field is not a ratio, a percentage is not allowed",
    ),
    "below_minimum": (
        "第 {row} 行「{column}」= {value} 小于最小值 {min}",
        "Row {row}: '{label}' = {value} is below the minimum {min}",
    ),
    "above_maximum": (
        "第 {row} 行「{column}」= {value} 大于最大值 {max}",
        "Row {row}: '{label}' = {value} is above the maximum {max}",
    ),
    "year_range": (
        "第 {row} 行「{column}」= {value} 不在 2000 至 {max} 年之间",
        "Row {row}: '{label}' = {value} is not between 2000 and {max}",
    ),
    "bad_date": (
        "第 {row} 行「{column}」= {value} 不是有效日期（应如 2021-03-05、2021/3/5 或 20210305）",
        "Row {row}: '{label}' = {value} is not a valid date (e.g. 2021-03-05, 2021/3/5, 20210305)",
    ),
    "future_date": (
        "第 {row} 行「{column}」= {value} 晚于今天（{today}）",
        "Row {row}: '{label}' = {value} is in the future (today is {today})",
    ),
    "bad_enum": (
        "第 {row} 行「{column}」= {value} 不是有效取值（可填：{choices_zh}）",
        "Row {row}: '{label}' = {value} is not one of: {choices_en}",
    ),
    "bad_bool": (
        "第 {row} 行「{column}」= {value} 应填 是 或 否",
        "Row {row}: '{label}' = {value} must be yes or no",
    ),
    "too_long": (
        "第 {row} 行「{column}」超过 {max_length} 个字符",
        "Row {row}: '{label}' is longer than {max_length} characters",
    ),
    "uscc_length": (
        "第 {row} 行「{column}」= {value} 不是有效的统一社会信用代码：应为 18 位",
        "Row {row}: '{label}' = {value} is not a valid USCC: it must have 18 characters",
    ),
    "uscc_charset": (
        "第 {row} 行「{column}」= {value} 不是有效的统一社会信用代码：含不允许的字符（不能有 I、O、Z、S、V）",
        "Row {row}: '{label}' = {value} is not a valid USCC: it contains characters outside "
        "0-9A-HJ-NPQRTUWXY",
    ),
    "uscc_check_digit": (
        "第 {row} 行「{column}」= {value} 不是有效的统一社会信用代码：校验位（第 18 位）不符",
        "Row {row}: '{label}' = {value} is not a valid USCC: the check character (18th) is wrong",
    ),
    "industry_format": (
        "第 {row} 行「{column}」= {value} 不是有效的国民经济行业代码（应为门类字母加 2–4 位数字，如 C3971）",
        "Row {row}: '{label}' = {value} is not a GB/T 4754-2017 code (a section letter and "
        "2–4 digits, e.g. C3971)",
    ),
    "industry_unknown_division": (
        "第 {row} 行「{column}」= {value}：GB/T 4754-2017 中没有这个行业大类",
        "Row {row}: '{label}' = {value}: no such division in GB/T 4754-2017",
    ),
    "industry_section_mismatch": (
        "第 {row} 行「{column}」= {value}：门类字母与行业大类不符",
        "Row {row}: '{label}' = {value}: the section letter does not match the division",
    ),
    "region_format": (
        "第 {row} 行「{column}」= {value} 不是有效的行政区划代码（应为 6 位数字）",
        "Row {row}: '{label}' = {value} is not a GB/T 2260 region code (6 digits)",
    ),
    "region_province": (
        "第 {row} 行「{column}」= {value}：前两位不是有效的省级代码",
        "Row {row}: '{label}' = {value}: the first two digits are not a province code",
    ),
    "zone_mismatch": (
        "第 {row} 行「{column}」= {value} 与导入的园区 {zone} 不符",
        "Row {row}: '{label}' = {value} differs from the zone being imported, {zone}",
    ),
    "exceeds": (
        "第 {row} 行「{column}」= {value} 大于「{other_column}」= {other_value}",
        "Row {row}: '{label}' = {value} exceeds '{other_label}' = {other_value}",
    ),
    "date_order": (
        "第 {row} 行「{column}」= {value} 早于「{other_column}」= {other_value}",
        "Row {row}: '{label}' = {value} is before '{other_label}' = {other_value}",
    ),
    "duplicate_key": (
        "第 {row} 行：统一社会信用代码 {value} 的 {year} 年度数据重复（共 {n} 行，首次在「{first_sheet}」第 {first_row} 行）",
        "Row {row}: year {year} of USCC {value} appears more than once ({n} rows, first in "
        "'{first_sheet}' row {first_row})",
    ),
    "duplicate_uscc": (
        "第 {row} 行：统一社会信用代码 {value} 重复（共 {n} 行，首次在「{first_sheet}」第 {first_row} 行）",
        "Row {row}: USCC {value} appears more than once ({n} rows, first in '{first_sheet}' "
        "row {first_row})",
    ),
    "enterprise_conflict": (
        "第 {row} 行「{column}」= {value} 与同一企业第 {first_row} 行的值 {first_value} 不一致",
        "Row {row}: '{label}' = {value} differs from {first_value} in row {first_row} of the "
        "same enterprise",
    ),
    "name_required": (
        "第 {row} 行：新企业 {value} 缺少「企业名称」",
        "Row {row}: the new enterprise {value} has no name",
    ),
    "unknown_enterprise": (
        "第 {row} 行：统一社会信用代码 {value} 既不在本文件的企业数据中，也不是已登记的企业",
        "Row {row}: USCC {value} is neither among this file's enterprises nor a registered one",
    ),
    "enterprise_invalid": (
        "第 {row} 行：企业 {value} 的企业信息有错误（见「{ent_sheet}」第 {ent_row} 行），本行不导入",
        "Row {row}: the enterprise data of {value} have errors (see '{ent_sheet}' row "
        "{ent_row}); this row is not imported",
    ),
    "bad_type": (
        "第 {row} 行「{column}」= {value} 不是已知的类型（可填：{choices_zh}）",
        "Row {row}: '{label}' = {value} is not a known type (one of: {choices_en})",
    ),
    "outlier": (
        "第 {row} 行「{column}」= {value} 超过中位数 {median} 的 {factor} 倍，请确认单位是万元而不是元",
        "Row {row}: '{label}' = {value} is more than {factor}× the median {median}; check the "
        "unit is 10k CNY, not CNY",
    ),
    "unknown_column": (
        "第 {row} 行：列「{column}」不是已知字段，已忽略",
        "Row {row}: column '{column}' names no known field and is ignored",
    ),
}

ENUM_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "listing_status": {
        "none": ("未上市", "无", "否"),
        "reserve": ("上市后备", "后备", "拟上市"),
        "listed": ("已上市", "上市"),
    },
    "rd_institution_level": {
        "none": ("无",),
        "municipal": ("市级",),
        "provincial": ("省级",),
        "national": ("国家级", "国家"),
    },
    "tax_credit_grade": {g: (f"{g}级",) for g in ("A", "B", "M", "C", "D")},
}
ENUM_LABELS["award_level"] = ENUM_LABELS["rd_institution_level"]
_LEVEL_ZH = dict(zip(LEVELS, ("无", "市级", "省级", "国家级"), strict=True))

CROSS_FIELD_RULES: tuple[tuple[str, str], ...] = (
    ("tech_staff", "staff_total"),
    ("rd_staff", "staff_total"),
    ("main_revenue", "revenue"),
    ("high_tech_revenue", "revenue"),
    ("export_revenue", "revenue"),
    ("rd_expense_domestic", "rd_expense"),
)
_NULL_TOKENS = ("", "-", "--", "—", "——", "/", "n/a", "na", "null", "none")
_FOLD_QUOTES = str.maketrans("", "", "\"'“”‘’「」 ")


def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text).translate(_FOLD_QUOTES).lower()


def _fold_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKC").str.replace_all(r"[\"'“”‘’「」\s]", "").str.to_lowercase()


def enum_choices(f: Field) -> dict[str, str]:
    """Code -> Chinese label of an enum field (the code itself when it has none)."""
    labels = ENUM_LABELS.get(f.code, {})
    return {c: (labels.get(c, (c,))[0]) for c in f.choices}


def _enum_map(choices: Mapping[str, Iterable[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, labels in choices.items():
        for name in (code, *labels):
            out.setdefault(_fold(name), code)
    return out


@dataclass
class _Ctx:
    today: dt.date
    zone_code: str | None
    existing: set[str] | None
    qualification_types: dict[str, tuple[str, str]]
    negative_types: dict[str, tuple[str, str]]
    reference_medians: Mapping[str, float]
    outlier_factor: float
    min_rows_for_median: int


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _cleaned(code: str, f: Field) -> pl.Expr:
    c = pl.col(code).str.strip_chars()
    if f.kind != Kind.TEXT or code in ("uscc", "industry_code", "region_code", "zone"):
        c = c.str.normalize("NFKC").str.strip_chars()
    if f.kind in (Kind.INT, Kind.MONEY, Kind.NUMBER, Kind.RATIO, Kind.DATE):
        c = pl.when(c.str.to_lowercase().is_in(_NULL_TOKENS)).then(None).otherwise(c)
    return c


def _number_expr(c: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(value, parsed-ok, had-percent) for a cleaned string column."""
    t = c.str.replace_all(r"\s", "")
    pct = t.str.ends_with("%")
    body = t.str.strip_suffix("%")
    well = body.str.contains(
        r"^[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]*)?([eE][+-]?[0-9]+)?$"
        r"|^[+-]?\.[0-9]+([eE][+-]?[0-9]+)?$"
    )
    value = pl.when(well).then(body.str.replace_all(",", "").cast(pl.Float64, strict=False))
    return value, value.is_not_null(), pct.fill_null(False)


_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _date_expr(c: pl.Expr) -> pl.Expr:
    """A Date from ISO, y/m/d, yyyymmdd, 年月日, an Excel serial or a datetime string."""
    s = c.str.replace(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$", "")
    s = s.str.replace_all(r"[/.年月]", "-").str.replace(r"日$", "")
    compact = s.str.contains(r"^[0-9]{8}$")
    s = (
        pl.when(compact)
        .then(
            pl.concat_str([s.str.slice(0, 4), s.str.slice(4, 2), s.str.slice(6, 2)], separator="-")
        )
        .otherwise(s)
    )
    iso = pl.when(s.str.contains(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")).then(
        s.str.to_date("%Y-%m-%d", strict=False)
    )
    serial_num = pl.when(s.str.contains(r"^[0-9]{1,7}(\.[0-9]+)?$")).then(
        s.cast(pl.Float64, strict=False).floor().cast(pl.Int64)
    )
    serial = pl.when(serial_num.is_between(1, 2_958_465)).then(
        (pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial_num)).cast(pl.Date)
    )
    return pl.coalesce(iso, serial)


@dataclass
class _Parsed:
    """How one column is typed: stage-wise expressions over materialised columns."""

    clean: pl.Expr  # stage 1: the cleaned string -> __c_<code>
    values: dict[str, pl.Expr]  # stage 2: __v_<code> and helper columns, from __c_
    error: pl.Expr  # stage 3: error code (null when fine), from stage-2 columns
    params: dict[str, str]


def _parse_field(f: Field, ctx: _Ctx, type_choices: dict[str, tuple[str, str]] | None) -> _Parsed:
    """The typing and checking of one field's column."""
    code = f.code
    c = pl.col(f"__c_{code}")
    v = pl.col(f"__v_{code}")
    present = c.is_not_null()
    params: dict[str, str] = {
        "min": _num(f.minimum),
        "max": _num(f.maximum),
        "max_length": str(f.max_length or ""),
        "today": ctx.today.isoformat(),
        "zone": ctx.zone_code or "",
    }
    null_str = pl.lit(None, dtype=pl.String)
    clean = _cleaned(code, f)
    if code == "uscc":
        clean = clean.str.to_uppercase().str.replace_all(r"\s", "")
        err = (
            pl.when(~present)
            .then(pl.lit("required"))
            .otherwise(pl.concat_str([pl.lit("uscc_"), uscc_problem_expr(v)]))
        )
        return _Parsed(clean, {f"__v_{code}": c}, err, params)
    if code == "type" and type_choices is not None:
        mapping = _enum_map({k: (zh,) for k, (zh, _en) in type_choices.items()})
        value = _fold_expr(c).replace_strict(mapping, default=None, return_dtype=pl.String)
        params["choices_zh"] = "、".join(f"{k}（{zh}）" for k, (zh, _) in type_choices.items())
        params["choices_en"] = ", ".join(f"{k} ({en})" for k, (_, en) in type_choices.items())
        err = (
            pl.when(~present)
            .then(pl.lit("required"))
            .when(v.is_null())
            .then(pl.lit("bad_type"))
            .otherwise(null_str)
        )
        return _Parsed(clean, {f"__v_{code}": value}, err, params)
    if f.kind == Kind.TEXT:
        if code == "industry_code":
            clean = clean.str.to_uppercase()
        elif code == "region_code":
            clean = clean.str.replace(r"\.0+$", "")
        required = f.required and code != "name"  # a name is checked per enterprise
        err = pl.when(~present & pl.lit(required)).then(pl.lit("required"))
        if code == "industry_code":
            err = err.when(present).then(
                pl.concat_str([pl.lit("industry_"), industry_problem_expr(v)])
            )
        elif code == "region_code":
            err = err.when(present).then(pl.concat_str([pl.lit("region_"), region_problem_expr(v)]))
        elif code == "zone" and ctx.zone_code:
            err = err.when(present & (v != ctx.zone_code)).then(pl.lit("zone_mismatch"))
        if f.max_length:
            err = err.when(v.str.len_chars() > f.max_length).then(pl.lit("too_long"))
        return _Parsed(clean, {f"__v_{code}": c}, err.otherwise(null_str), params)
    if f.kind == Kind.ENUM:
        labels = ENUM_LABELS.get(code, {})
        mapping = _enum_map({ch: labels.get(ch, ()) for ch in f.choices})
        value = _fold_expr(c).replace_strict(mapping, default=None, return_dtype=pl.String)
        names = enum_choices(f)
        params["choices_zh"] = "、".join(f"{k}（{n}）" if n != k else k for k, n in names.items())
        params["choices_en"] = ", ".join(names)
        err = (
            pl.when(~present & pl.lit(f.required))
            .then(pl.lit("required"))
            .when(present & v.is_null())
            .then(pl.lit("bad_enum"))
            .otherwise(null_str)
        )
        return _Parsed(clean, {f"__v_{code}": value}, err, params)
    if f.kind == Kind.BOOL:
        mapping = _enum_map(
            {"true": ("是", "yes", "y", "1", "t"), "false": ("否", "no", "n", "0", "f")}
        )
        text = _fold_expr(c).replace_strict(mapping, default=None, return_dtype=pl.String)
        err = pl.when(present & v.is_null()).then(pl.lit("bad_bool")).otherwise(null_str)
        return _Parsed(clean, {f"__v_{code}": text == "true"}, err, params)
    if f.kind == Kind.DATE:
        err = (
            pl.when(~present & pl.lit(f.required))
            .then(pl.lit("required"))
            .when(present & v.is_null())
            .then(pl.lit("bad_date"))
        )
        if code == "registered_on":
            err = err.when(v > ctx.today).then(pl.lit("future_date"))
        return _Parsed(clean, {f"__v_{code}": _date_expr(c)}, err.otherwise(null_str), params)
    # numbers
    num, ok, pct = _number_expr(c)
    pct_col = pl.col(f"__pct_{code}")
    values = {f"__pct_{code}": pct}
    if f.kind == Kind.RATIO:
        values[f"__num_{code}"] = num
        values[f"__v_{code}"] = pl.when(pct).then(num / 100).otherwise(num)
    else:
        values[f"__v_{code}"] = num
    err = (
        pl.when(~present & pl.lit(f.required))
        .then(pl.lit("required"))
        .when(present & v.is_null())
        .then(pl.lit("not_a_number"))
    )
    if f.kind == Kind.RATIO:
        err = err.when(~pct_col & (pl.col(f"__num_{code}").abs() > 1)).then(
            pl.lit("ratio_not_fraction")
        )
    else:
        err = err.when(pct_col).then(pl.lit("percent_not_allowed"))
    if f.kind == Kind.INT:
        err = err.when((v != v.round(0)) | (v.abs() > 2**53)).then(pl.lit("not_integer"))
    if code == "year":
        params["max"] = str(ctx.today.year)
        err = err.when((v < 2000) | (v > ctx.today.year)).then(pl.lit("year_range"))
    else:
        if f.minimum is not None:
            err = err.when(v < f.minimum).then(pl.lit("below_minimum"))
        if f.maximum is not None:
            err = err.when(v > f.maximum).then(pl.lit("above_maximum"))
    return _Parsed(clean, values, err.otherwise(null_str), params)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fmt(template: str, exprs: Mapping[str, pl.Expr], params: Mapping[str, str]) -> pl.Expr:
    """A pl.format of `template`: params are substituted literally, exprs per row."""
    args: list[pl.Expr] = []

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in exprs:
            args.append(exprs[key].cast(pl.String).fill_null(""))
            return "{}"
        return params.get(key, m.group(0)).replace("{", "(").replace("}", ")")

    fmt = _PLACEHOLDER.sub(sub, template)
    return pl.format(fmt, *args) if args else pl.lit(fmt)


def _issues(
    frame: pl.DataFrame,
    mask: pl.Expr | None,
    *,
    code: str,
    field_code: str,
    column: pl.Expr,
    label: str,
    value: pl.Expr,
    params: Mapping[str, str] | None = None,
    extra: Mapping[str, pl.Expr] | None = None,
    severity: Severity = "error",
) -> pl.DataFrame:
    """Issue rows (ISSUE_SCHEMA) for the rows of `frame` where `mask` holds."""
    sub = frame if mask is None else frame.filter(mask)
    if sub.height == 0:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    exprs = {
        "row": pl.col("_row"),
        "column": column,
        "label": pl.lit(label),
        "value": value,
        **(extra or {}),
    }
    zh, en = MESSAGES[code]
    return sub.select(
        severity=pl.lit(severity),
        sheet=pl.col("_sheet"),
        row=pl.col("_row").cast(pl.Int64),
        column=column.cast(pl.String),
        field=pl.lit(field_code),
        value=value.cast(pl.String),
        code=pl.lit(code),
        message_zh=_fmt(zh, exprs, params or {}),
        message_en=_fmt(en, exprs, params or {}),
    )


def _header_expr(code: str, headers: Mapping[str, Mapping[str, str]], default: str) -> pl.Expr:
    """The header as written in each row's sheet for `code`."""
    per_sheet = {s: h[code] for s, h in headers.items() if code in h}
    if len(set(per_sheet.values())) == 1 and len(per_sheet) == len(headers):
        return pl.lit(next(iter(per_sheet.values())))
    return pl.col("_sheet").replace_strict(per_sheet, default=default, return_dtype=pl.String)


@dataclass
class _Part:
    """One table's rows gathered from every sheet that carries it (strings, diagonal)."""

    name: str
    fields: dict[str, Field]
    frame: pl.DataFrame
    headers: dict[str, dict[str, str]]  # sheet -> code -> header


def _type_cells(
    part: _Part, ctx: _Ctx, type_choices: dict[str, tuple[str, str]] | None = None
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Parse every present column; returns the frame with `__v_<code>` columns and cell issues."""
    frame = part.frame
    present = [c for c in part.fields if c in frame.columns]
    parsed = {code: _parse_field(part.fields[code], ctx, type_choices) for code in present}
    # materialise each stage so no expression is evaluated twice
    frame = frame.with_columns(*[p.clean.alias(f"__c_{code}") for code, p in parsed.items()])
    frame = frame.with_columns(
        *[e.alias(name) for p in parsed.values() for name, e in p.values.items()]
    )
    frame = frame.with_columns(*[p.error.alias(f"__e_{code}") for code, p in parsed.items()])
    frame = frame.with_columns(
        *[
            pl.when(pl.col(f"__e_{code}").is_null())
            .then(pl.col(f"__v_{code}"))
            .alias(f"__v_{code}")
            for code in parsed
        ]
    )
    helpers = [c for c in frame.columns if c.startswith(("__c_", "__pct_", "__num_"))]
    frame = frame.drop(helpers)
    issues: list[pl.DataFrame] = []
    for code, p in parsed.items():
        params = p.params
        f = part.fields[code]
        bad = frame.filter(pl.col(f"__e_{code}").is_not_null())
        if bad.height == 0:
            continue
        column = _header_expr(code, part.headers, f.header_zh)
        for err_code in bad.get_column(f"__e_{code}").unique().sort().to_list():
            issues.append(
                _issues(
                    bad,
                    pl.col(f"__e_{code}") == err_code,
                    code=err_code,
                    field_code=code,
                    column=column,
                    label=f.en,
                    value=pl.col(code),
                    params=params,
                )
            )
    return frame, issues


def _gather(
    workbook: Workbook, kinds: tuple[str, ...], fields: dict[str, Field], name: str
) -> _Part:
    frames = []
    headers: dict[str, dict[str, str]] = {}
    for sheet in workbook.sheets:
        if sheet.kind not in kinds:
            continue
        cols = {code: h for code, h in sheet.columns.items() if code in fields}
        data = sheet.data().select(
            "_row", "_sheet", *[pl.col(c) for c in cols], pl.lit(sheet.kind).alias("_kind")
        )
        if name == "yearly" and sheet.kind == "combined":
            yearly_cols = [c for c in cols if c != "uscc"]
            data = data.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in yearly_cols]))
        frames.append(data)
        headers[sheet.name] = cols
    if not frames:
        frame = pl.DataFrame(
            schema={"_row": pl.Int64, "_sheet": pl.String, "uscc": pl.String, "_kind": pl.String}
        )
    else:
        frame = pl.concat(frames, how="diagonal")
    return _Part(name, fields, frame, headers)


def _error_keys(issues: list[pl.DataFrame]) -> pl.DataFrame:
    if not issues:
        return pl.DataFrame(schema={"_sheet": pl.String, "_row": pl.Int64})
    frame = pl.concat(issues)
    return (
        frame.filter(pl.col("severity") == "error")
        .select(pl.col("sheet").alias("_sheet"), pl.col("row").alias("_row"))
        .unique()
    )


def _mark_valid(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    bad = keys.with_columns(pl.lit(True).alias("__bad"))
    return (
        frame.join(bad, on=["_sheet", "_row"], how="left", maintain_order="left")
        .with_columns((~pl.col("__bad").fill_null(False)).alias("_valid"))
        .drop("__bad")
    )


def _typed_output(frame: pl.DataFrame, part: _Part) -> pl.DataFrame:
    cols = [c for c in part.fields if f"__v_{c}" in frame.columns]
    return frame.select(
        *[pl.col(f"__v_{c}").cast(part.fields[c].polars_dtype).alias(c) for c in cols],
        "_sheet",
        "_row",
        "_valid",
    )


def _dup_issues(
    frame: pl.DataFrame, keys: list[str], counted: pl.Expr, code: str, part: _Part, extra_year: bool
) -> list[pl.DataFrame]:
    key_exprs = [pl.col(k) for k in keys]
    valid_key = (
        pl.all_horizontal([k.is_not_null() for k in key_exprs]) & pl.col("__e_uscc").is_null()
    )
    f = frame.with_columns(
        pl.when(valid_key & counted).then(pl.lit(1)).otherwise(pl.lit(0)).alias("__cnt")
    ).with_columns(
        pl.col("__cnt").sum().over(keys).alias("__n"),
        pl.col("_row").filter(pl.col("__cnt") == 1).first().over(keys).alias("__fr"),
        pl.col("_sheet").filter(pl.col("__cnt") == 1).first().over(keys).alias("__fs"),
    )
    mask = valid_key & counted & (pl.col("__n") > 1)
    extra = {
        "n": pl.col("__n"),
        "first_row": pl.col("__fr"),
        "first_sheet": pl.col("__fs"),
    }
    if extra_year:
        extra["year"] = pl.col("__v_year").cast(pl.Int64)
    return [
        _issues(
            f,
            mask,
            code=code,
            field_code="uscc",
            column=_header_expr("uscc", part.headers, "统一社会信用代码"),
            label="USCC",
            value=pl.col("__v_uscc"),
            extra=extra,
        )
    ]


def _enterprises(part: _Part, ctx: _Ctx) -> tuple[pl.DataFrame, list[pl.DataFrame], pl.DataFrame]:
    """Typed enterprise frame (one row per uscc and sheet), its issues, and the row keys."""
    frame, issues = _type_cells(part, ctx)
    if frame.height == 0:
        return frame, issues, frame
    present = [c for c in part.fields if c in frame.columns]
    frame = frame.with_columns(
        pl.coalesce(
            pl.col("__v_uscc"), pl.concat_str([pl.lit("#"), pl.col("_row").cast(pl.String)])
        ).alias("__key"),
    )
    group = ["__key", "_sheet"]
    frame = frame.with_columns(
        ((pl.col("_kind") == "enterprise") | (pl.int_range(pl.len()).over(group) == 0)).alias(
            "__rep"
        )
    )
    # combined sheets repeat enterprise fields on every yearly row: they must agree
    combined = frame.filter(pl.col("_kind") == "combined")
    if combined.height:
        for code in present:
            if code == "uscc":
                continue
            v = pl.col(f"__v_{code}")
            # window values are computed on all rows before the issue rows are picked
            with_first = combined.with_columns(
                v.drop_nulls().first().over(group).alias("__fv"),
                pl.col(code).filter(v.is_not_null()).first().over(group).alias("__fraw"),
                pl.col("_row").filter(v.is_not_null()).first().over(group).alias("__frow"),
            )
            first_raw, first_row = pl.col("__fraw"), pl.col("__frow")
            f = part.fields[code]
            issues.append(
                _issues(
                    with_first,
                    v.is_not_null() & (v != pl.col("__fv")),
                    code="enterprise_conflict",
                    field_code=code,
                    column=_header_expr(code, part.headers, f.header_zh),
                    label=f.en,
                    value=pl.col(code),
                    extra={"first_row": first_row, "first_value": first_raw},
                )
            )
    # the same enterprise twice (an enterprise sheet, or in more than one sheet)
    issues += _dup_issues(frame, ["__v_uscc"], pl.col("__rep"), "duplicate_uscc", part, False)
    # a name is required for new enterprises
    has_name = (
        pl.col("__v_name").is_not_null().any().over(group)
        if "__v_name" in frame.columns
        else pl.lit(False)
    )
    is_new = (
        ~pl.col("__v_uscc").is_in(pl.Series(sorted(ctx.existing), dtype=pl.String).implode())
        if ctx.existing is not None
        else pl.lit(True)
    )
    issues.append(
        _issues(
            frame,
            pl.col("__rep") & pl.col("__e_uscc").is_null() & ~has_name & is_new,
            code="name_required",
            field_code="name",
            column=_header_expr("name", part.headers, "企业名称"),
            label="Enterprise name",
            value=pl.col("__v_uscc"),
        )
    )
    keys = _error_keys(issues)
    frame = _mark_valid(frame, keys)
    frame = frame.with_columns(pl.col("_valid").all().over(group))
    # one row per enterprise and sheet: the first non-empty value of each field
    combined_row = pl.col("_kind") == "combined"
    frame = frame.with_columns(
        [
            pl.when(combined_row)
            .then(pl.col(f"__v_{c}").drop_nulls().first().over(group))
            .otherwise(pl.col(f"__v_{c}"))
            .alias(f"__v_{c}")
            for c in present
            if c != "uscc"
        ]
    )
    rows = frame.filter(pl.col("__rep"))
    return _typed_output(rows, part), issues, rows


def _references(
    frame: pl.DataFrame,
    part: _Part,
    ent_rows: pl.DataFrame,
    ctx: _Ctx,
    own_error_keys: pl.DataFrame,
) -> list[pl.DataFrame]:
    """Rows of dependent tables whose enterprise is unknown or invalid."""
    issues: list[pl.DataFrame] = []
    column = _header_expr("uscc", part.headers, "统一社会信用代码")
    ok_uscc = pl.col("__e_uscc").is_null() & pl.col("__v_uscc").is_not_null()
    if ent_rows.height:
        bad = (
            ent_rows.filter(~pl.col("_valid"))
            .group_by("__v_uscc")
            .agg(pl.col("_sheet").first().alias("__es"), pl.col("_row").min().alias("__er"))
        )
    else:
        bad = pl.DataFrame(schema={"__v_uscc": pl.String, "__es": pl.String, "__er": pl.Int64})
    if ctx.existing is not None:
        known = pl.Series(
            sorted(set(ent_rows.get_column("__v_uscc").drop_nulls().to_list()) | ctx.existing)
            if ent_rows.height
            else sorted(ctx.existing),
            dtype=pl.String,
        )
        issues.append(
            _issues(
                frame,
                ok_uscc & ~pl.col("__v_uscc").is_in(known.implode()),
                code="unknown_enterprise",
                field_code="uscc",
                column=column,
                label="USCC",
                value=pl.col("__v_uscc"),
            )
        )
    if bad.height:
        own = own_error_keys.with_columns(pl.lit(True).alias("__own"))
        joined = frame.join(bad, on="__v_uscc", how="left", maintain_order="left").join(
            own, on=["_sheet", "_row"], how="left", maintain_order="left"
        )
        issues.append(
            _issues(
                joined,
                ok_uscc & pl.col("__er").is_not_null() & pl.col("__own").is_null(),
                code="enterprise_invalid",
                field_code="uscc",
                column=column,
                label="USCC",
                value=pl.col("__v_uscc"),
                extra={"ent_sheet": pl.col("__es"), "ent_row": pl.col("__er")},
            )
        )
    return issues


def _cross_field(frame: pl.DataFrame, part: _Part, rules, code: str) -> list[pl.DataFrame]:
    issues = []
    for a, b in rules:
        if f"__v_{a}" not in frame.columns or f"__v_{b}" not in frame.columns:
            continue
        fa, fb = part.fields[a], part.fields[b]
        va, vb = pl.col(f"__v_{a}"), pl.col(f"__v_{b}")
        mask = (va > vb) if code == "exceeds" else (va < vb)
        issues.append(
            _issues(
                frame,
                mask.fill_null(False),
                code=code,
                field_code=a,
                column=_header_expr(a, part.headers, fa.header_zh),
                label=fa.en,
                value=pl.col(a),
                extra={
                    "other_column": _header_expr(b, part.headers, fb.header_zh),
                    "other_label": pl.lit(fb.en),
                    "other_value": pl.col(b),
                },
            )
        )
    return issues


def _outliers(frame: pl.DataFrame, part: _Part, ctx: _Ctx) -> list[pl.DataFrame]:
    issues = []
    for code, f in part.fields.items():
        if f.kind != Kind.MONEY or f"__v_{code}" not in frame.columns:
            continue
        v = pl.col(f"__v_{code}")
        median = ctx.reference_medians.get(code)
        if median is None:
            positive = frame.get_column(f"__v_{code}").filter(frame.get_column(f"__v_{code}") > 0)
            if positive.len() < ctx.min_rows_for_median:
                continue
            median = positive.median()
        if not median or median <= 0:
            continue
        issues.append(
            _issues(
                frame,
                (v > median * ctx.outlier_factor).fill_null(False),
                code="outlier",
                field_code=code,
                column=_header_expr(code, part.headers, f.header_zh),
                label=f.en,
                value=pl.col(code),
                params={"median": f"{median:,.2f}", "factor": f"{ctx.outlier_factor:,.0f}"},
                severity="warning",
            )
        )
    return issues


def _dependent(
    part: _Part,
    ctx: _Ctx,
    ent_rows: pl.DataFrame,
    type_choices: dict[str, tuple[str, str]] | None,
    extra: Callable[[pl.DataFrame], list[pl.DataFrame]],
    ent_keys: pl.DataFrame,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    frame, issues = _type_cells(part, ctx, type_choices)
    if frame.height == 0:
        return _empty_typed(part), issues
    issues += extra(frame)
    own = pl.concat([_error_keys(issues), ent_keys]).unique()
    issues += _references(frame, part, ent_rows, ctx, own)
    frame = _mark_valid(frame, _error_keys(issues))
    return _typed_output(frame, part), issues


def _empty_typed(part: _Part) -> pl.DataFrame:
    cols = [c for c in part.fields if c in part.frame.columns]
    return pl.DataFrame(
        schema={
            **{c: part.fields[c].polars_dtype for c in cols},
            "_sheet": pl.String,
            "_row": pl.Int64,
            "_valid": pl.Boolean,
        }
    )


def validate(
    workbook: Workbook,
    *,
    custom_fields: Sequence[Field] = (),
    zone_code: str | None = None,
    today: dt.date | None = None,
    existing_usccs: Iterable[str] | None = None,
    qualification_types: Mapping[str, tuple[str, str]] | None = None,
    reference_medians: Mapping[str, float] | None = None,
    outlier_factor: float = 10_000.0,
    min_rows_for_median: int = 20,
) -> ValidationResult:
    """Type and check every sheet of `workbook` against the data standard (all in Polars).

    `existing_usccs`: enterprises already registered (yearly rows, qualifications and
    negative records may refer to them; None skips that check and treats every
    enterprise as new for the name requirement). `qualification_types`: the zone's own
    qualification types (code -> (zh, en)) on top of the standard ones.
    `reference_medians`: field code -> the zone's median, for the outlier warnings
    (default: the file's own median when it has at least `min_rows_for_median` values).
    """
    ctx = _Ctx(
        today=today or dt.date.today(),
        zone_code=zone_code,
        existing=set(existing_usccs) if existing_usccs is not None else None,
        qualification_types={**QUALIFICATION_TYPES, **(qualification_types or {})},
        negative_types=dict(NEGATIVE_TYPES),
        reference_medians=reference_medians or {},
        outlier_factor=outlier_factor,
        min_rows_for_median=min_rows_for_median,
    )
    sets = _fields_of(custom_fields)
    ent_fields = {f.code: f for f in sets["enterprise"]}
    yearly_fields = {"uscc": ent_fields["uscc"], **{f.code: f for f in sets["yearly"]}}
    issues: list[pl.DataFrame] = []
    for sheet in workbook.sheets:
        if sheet.unknown_headers:
            issues.append(
                pl.DataFrame(
                    {"_sheet": sheet.name, "_row": sheet.header_row, "h": sheet.unknown_headers}
                ).pipe(
                    _issues,
                    None,
                    code="unknown_column",
                    field_code="",
                    column=pl.col("h"),
                    label="",
                    value=pl.lit(None, dtype=pl.String),
                    severity="warning",
                )
            )

    ent_part = _gather(workbook, ("enterprise", "combined"), ent_fields, "enterprises")
    enterprises, ent_issues, ent_rows = _enterprises(ent_part, ctx)
    if enterprises.height == 0:
        enterprises = _empty_typed(ent_part)
    issues += ent_issues

    yearly_part = _gather(workbook, ("yearly", "combined"), yearly_fields, "yearly")

    def yearly_checks(frame: pl.DataFrame) -> list[pl.DataFrame]:
        out = _cross_field(frame, yearly_part, CROSS_FIELD_RULES, "exceeds")
        if "__v_year" in frame.columns:
            out += _dup_issues(
                frame.filter(pl.col("__e_year").is_null()),
                ["__v_uscc", "__v_year"],
                pl.lit(True),
                "duplicate_key",
                yearly_part,
                True,
            )
        out += _outliers(frame, yearly_part, ctx)
        return out

    ent_keys = _error_keys(ent_issues)
    yearly, y_issues = _dependent(yearly_part, ctx, ent_rows, None, yearly_checks, ent_keys)
    issues += y_issues

    qual_part = _gather(
        workbook, ("qualifications",), {f.code: f for f in QUALIFICATION_FIELDS}, "qualifications"
    )
    qualifications, q_issues = _dependent(
        qual_part,
        ctx,
        ent_rows,
        ctx.qualification_types,
        lambda fr: _cross_field(fr, qual_part, [("valid_until", "valid_from")], "date_order"),
        ent_keys,
    )
    issues += q_issues
    neg_part = _gather(workbook, ("negatives",), {f.code: f for f in NEGATIVE_FIELDS}, "negatives")
    negatives, n_issues = _dependent(
        neg_part,
        ctx,
        ent_rows,
        ctx.negative_types,
        lambda fr: _cross_field(fr, neg_part, [("cleared_on", "occurred_on")], "date_order"),
        ent_keys,
    )
    issues += n_issues

    order = {s.name: i for i, s in enumerate(workbook.sheets)}
    all_issues = (
        pl.concat([pl.DataFrame(schema=ISSUE_SCHEMA), *issues])
        .unique(subset=["sheet", "row", "field", "code"], keep="first", maintain_order=True)
        .with_columns(
            pl.col("sheet").replace_strict(order, default=-1, return_dtype=pl.Int64).alias("__o")
        )
        .sort(["__o", "row"], maintain_order=True)
        .drop("__o")
    )
    return ValidationResult(
        enterprises=enterprises,
        yearly=yearly,
        qualifications=qualifications,
        negatives=negatives,
        issues_frame=all_issues,
    )


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


def table_fields(table: str, custom_fields: Sequence[Field] = ()) -> tuple[Field, ...]:
    """The fields of `table` ('enterprises', 'yearly', 'qualifications', 'negatives') in order."""
    sets = _fields_of(custom_fields)
    if table == "enterprises":
        return sets["enterprise"]
    if table == "yearly":
        return (ENTERPRISE_FIELDS[0], *sets["yearly"])
    if table == "qualifications":
        return QUALIFICATION_FIELDS
    if table == "negatives":
        return NEGATIVE_FIELDS
    raise KeyError(table)


def _export_frame(
    frame: pl.DataFrame,
    fields: Sequence[Field],
    headers: str,
    type_labels: Mapping[str, tuple[str, str]] | None,
) -> pl.DataFrame:
    """Columns in catalogue order, values as the reader accepts them, headers renamed."""
    out = []
    for f in fields:
        if f.code not in frame.columns:
            continue
        col = pl.col(f.code)
        if headers == "zh":
            if f.kind == Kind.ENUM and f.code in ENUM_LABELS:
                col = col.replace_strict(enum_choices(f), default=col, return_dtype=pl.String)
            elif f.code == "type" and type_labels:
                zh = {k: v[0] for k, v in type_labels.items()}
                col = col.replace_strict(zh, default=col, return_dtype=pl.String)
            elif f.kind == Kind.BOOL:
                col = pl.when(col).then(pl.lit("是")).when(~col).then(pl.lit("否"))
        out.append(col.alias(f.header_zh if headers == "zh" else f.code))
    return frame.select(out)


def _combined(frames: Mapping[str, pl.DataFrame], custom_fields: Sequence[Field]) -> pl.DataFrame:
    """One row per uscc + year with the enterprise fields repeated (enterprises first)."""
    ent = frames.get("enterprises")
    yearly = frames.get("yearly")
    if ent is None and yearly is None:
        return pl.DataFrame()
    if yearly is None or yearly.height == 0 and ent is not None:
        return ent
    if ent is None:
        return yearly
    ent_cols = [c for c in ent.columns if not c.startswith("_")]
    y_cols = [c for c in yearly.columns if not c.startswith("_")]
    joined = ent.select(ent_cols).join(
        yearly.select(y_cols), on="uscc", how="full", coalesce=True, maintain_order="left"
    )
    if "year" in joined.columns:
        joined = joined.sort(["uscc", "year"], nulls_last=True, maintain_order=True)
    return joined


def write_tables(
    frames: Mapping[str, pl.DataFrame],
    path: str | Path,
    fmt: Literal["xlsx", "csv"] | None = None,
    headers: Literal["zh", "code"] = "zh",
    custom_fields: Sequence[Field] = (),
    *,
    encoding: str = "utf-8-sig",
    qualification_types: Mapping[str, tuple[str, str]] | None = None,
) -> list[Path]:
    """Write the registry in the shape `read_workbook` accepts; returns the files written.

    `frames` maps 'enterprises', 'yearly', 'qualifications', 'negatives' to typed frames
    (columns starting with `_` are dropped). xlsx: one sheet per non-empty table, named
    企业 / 年度数据 / 资质 / 负面记录. csv: `path` holds the combined enterprise + yearly
    table (one row per uscc + year, enterprise fields repeated) and the qualifications and
    negative records go to `<stem>-资质.csv` / `<stem>-负面记录.csv`; `encoding` is
    'utf-8-sig' (UTF-8 with BOM, opens in Excel) or e.g. 'gb18030'. With `headers='zh'`
    the headers are `Field.header_zh` and enum values their Chinese labels; with 'code'
    both are codes.
    """
    path = Path(path)
    fmt = fmt or ("csv" if path.suffix.lower() in (".csv", ".tsv") else "xlsx")
    types = {**QUALIFICATION_TYPES, **(qualification_types or {})}
    labels = {"qualifications": types, "negatives": NEGATIVE_TYPES}
    out: dict[str, pl.DataFrame] = {}
    if fmt == "csv":
        combined = _combined(frames, custom_fields)
        fields = (*_fields_of(custom_fields)["enterprise"], *_fields_of(custom_fields)["yearly"])
        parts = {"": _export_frame(combined, fields, headers, None)}
        for table in ("qualifications", "negatives"):
            frame = frames.get(table)
            if frame is not None and frame.height:
                parts[table] = _export_frame(frame, table_fields(table), headers, labels[table])
        written = []
        for table, frame in parts.items():
            target = path if not table else path.with_name(f"{path.stem}-{SHEET_NAMES[table]}.csv")
            text = frame.write_csv(
                separator="\t" if path.suffix.lower() == ".tsv" else ",",
                date_format="%Y-%m-%d",
            )
            target.write_bytes(text.encode(encoding))
            written.append(target)
        return written
    for table in TABLES:
        frame = frames.get(table)
        if frame is None or (frame.height == 0 and table in ("qualifications", "negatives")):
            continue
        out[SHEET_NAMES[table]] = _export_frame(
            frame, table_fields(table, custom_fields), headers, labels.get(table)
        )
    _write_xlsx(out, path)
    return [path]


def _write_xlsx(sheets: Mapping[str, pl.DataFrame], path: Path) -> None:
    from openpyxl import Workbook as XlWorkbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = XlWorkbook(write_only=True)
    for name, frame in sheets.items():
        ws = wb.create_sheet(name)
        bold = Font(bold=True)
        header = []
        for h in frame.columns:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        date_cols = [i for i, d in enumerate(frame.dtypes) if d == pl.Date]
        for row in frame.iter_rows():
            if date_cols:
                row = list(row)
                for i in date_cols:
                    if row[i] is not None:
                        cell = WriteOnlyCell(ws, value=row[i])
                        cell.number_format = "yyyy-mm-dd"
                        row[i] = cell
            ws.append(row)
    wb.save(path)
