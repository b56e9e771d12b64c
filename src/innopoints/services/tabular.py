"""Excel/CSV import and export of the services registries (contracts, supply and demand
lists, results, projects, procedures): one column spec per registry, read and checked in
Polars with bilingual issues that name the row, the column and the value.

The file checks (zip bomb limits, encodings, blank rows, duplicate headers) are those of
`innopoints.standard.tabular`; only the column set differs from the enterprise registry.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from innopoints.standard import tabular as std
from innopoints.standard.codes import uscc_problem_expr

MAX_ROWS = 100_000


@dataclass(frozen=True)
class Column:
    """One column of a registry file."""

    code: str
    zh: str
    en: str
    kind: str = "text"  # text | number | int | date | month | enum | uscc
    required: bool = False
    choices: Mapping[str, str] = field(default_factory=dict)  # code -> Chinese label
    minimum: float | None = 0
    maximum: float | None = None
    max_len: int = 200

    def headers(self) -> set[str]:
        return {self.code, self.zh, self.en, self.en.lower()}


@dataclass
class Parsed:
    """Typed rows (with `_row`, the Excel row number) and the issues found."""

    rows: pl.DataFrame
    issues: list[dict]

    @property
    def ok(self) -> bool:
        return not self.issues


def issue(row: int | None, column: str, value, zh: str, en: str) -> dict:
    """One bilingual issue."""
    return {
        "row": row,
        "column": column,
        "value": None if value is None else str(value),
        "zh": zh,
        "en": en,
    }


class FileProblem(Exception):
    """The whole file cannot be read; carries a bilingual message."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def read_grid(data: bytes, filename: str) -> pl.DataFrame:
    """The first sheet (or the CSV) as strings by header text, with `_row`."""
    if not data.strip():
        raise FileProblem(f"文件「{filename}」是空的", f"'{filename}' is empty")
    try:
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                std._check_zip(zf, filename, std.DEFAULT_LIMITS)
            import fastexcel

            reader = fastexcel.read_excel(data)
            grid = reader.load_sheet(0, header_row=None, dtypes="string").to_polars()
        elif Path(filename).suffix.lower() in (".csv", ".txt", ".tsv"):
            text = std._decode_text(data, filename)
            grid = pl.read_csv(
                io.BytesIO(text.encode("utf-8")),
                has_header=False,
                infer_schema=False,
                separator="\t" if filename.lower().endswith(".tsv") else ",",
                raise_if_empty=False,
            )
        else:
            raise FileProblem(
                f"文件「{filename}」不是 .xlsx 或 .csv 文件",
                f"'{filename}' is not an .xlsx or .csv file",
            )
        headers, body = std._frame_from_grid(grid, 1)
    except std.ImportFileError as exc:
        raise FileProblem(exc.message_zh, exc.message_en) from exc
    except FileProblem:
        raise
    except Exception as exc:  # calamine, zip and csv parsers raise their own types
        raise FileProblem(
            f"无法读取文件「{filename}」（文件损坏或格式不正确）",
            f"Cannot read '{filename}' (corrupt or not a spreadsheet)",
        ) from exc
    if body.height == 0:
        raise FileProblem(f"文件「{filename}」没有数据行", f"'{filename}' has no data rows")
    if body.height > MAX_ROWS:
        raise FileProblem(
            f"文件「{filename}」超过 {MAX_ROWS} 行", f"'{filename}' has more than {MAX_ROWS} rows"
        )
    return body


def parse(body: pl.DataFrame, columns: Sequence[Column]) -> Parsed:
    """Map headers to columns, type every column in Polars and collect issues."""
    by_header = {}
    for c in columns:
        for h in c.headers():
            by_header[h] = c
    present: dict[str, str] = {}
    for h in body.columns:
        col = by_header.get(h.strip()) or by_header.get(h.strip().lower())
        if col is not None and col.code not in present:
            present[col.code] = h
    issues: list[dict] = []
    missing = [c for c in columns if c.required and c.code not in present]
    if missing:
        names = "、".join(c.zh for c in missing)
        issues.append(
            issue(
                1,
                names,
                None,
                f"缺少必填列：{names}",
                "Missing required columns: " + ", ".join(c.en for c in missing),
            )
        )
        return Parsed(pl.DataFrame(), issues)
    exprs, checks = [pl.col("_row")], []
    for c in columns:
        if c.code not in present:
            continue
        header = present[c.code]
        raw = pl.col(header).str.strip_chars().str.normalize("NFKC")
        ok = pl.lit(True)
        if c.kind in ("number", "int"):
            value, parsed, _pct = std._number_expr(raw)
            if c.kind == "int":
                value = value.round(0).cast(pl.Int64)
            ok = raw.is_null() | parsed
            bounds = pl.lit(True)
            if c.minimum is not None:
                bounds = bounds & (value >= c.minimum)
            if c.maximum is not None:
                bounds = bounds & (value <= c.maximum)
            lim = f"{c.minimum if c.minimum is not None else '-∞'}–{c.maximum if c.maximum is not None else '∞'}"
            checks.append(
                (
                    c,
                    header,
                    ok & value.is_not_null() & ~bounds,
                    f"超出允许范围 {lim}",
                    f"is outside the allowed range {lim}",
                )
            )
            bad_zh, bad_en = "不是数字", "is not a number"
        elif c.kind in ("date", "month"):
            text = raw
            if c.kind == "month":  # 2026-03, 2026/3, 2026年3月 → the first of the month
                month = text.str.replace(r"^(\d{4})[-/.年](\d{1,2})月?$", "$1-$2-01")
                text = month
            value = std._date_expr(text)
            if c.kind == "month":
                value = value.dt.truncate("1mo")
            ok = raw.is_null() | value.is_not_null()
            bad_zh, bad_en = (
                "不是日期（应为 2026-03-01 这样的格式）",
                "is not a date (e.g. 2026-03-01)",
            )
        elif c.kind == "enum":
            lookup = {}
            for code, label in c.choices.items():
                lookup[code.lower()] = code
                lookup[label.lower()] = code
            value = raw.str.to_lowercase().replace_strict(lookup, default=None)
            ok = raw.is_null() | value.is_not_null()
            allowed = "、".join(c.choices.values())
            bad_zh, bad_en = f"不是允许的取值（{allowed}）", f"is not one of {', '.join(c.choices)}"
        elif c.kind == "uscc":
            value = raw.str.to_uppercase()
            ok = raw.is_null() | uscc_problem_expr(value).is_null()
            bad_zh, bad_en = "不是有效的统一社会信用代码", "is not a valid USCC (GB 32100)"
        else:
            value = raw
            ok = raw.is_null() | (raw.str.len_chars() <= c.max_len)
            bad_zh, bad_en = f"超过 {c.max_len} 个字符", f"is longer than {c.max_len} characters"
        checks.append((c, header, ~ok, bad_zh, bad_en))
        if c.required:
            checks.append((c, header, raw.is_null(), "必填，不能为空", "is required"))
        exprs.append(pl.when(ok).then(value).alias(c.code))
    for _c, header, bad, zh, en in checks:
        hits = body.filter(bad.fill_null(False)).select("_row", pl.col(header).alias("v"))
        issues.extend(
            issue(
                row,
                header,
                v,
                f"第 {row} 行「{header}」的值「{v or ''}」{zh}",
                f"Row {row}, column '{header}', value '{v or ''}' {en}",
            )
            for row, v in hits.iter_rows()
        )
    issues.sort(key=lambda i: (i["row"] or 0, i["column"]))
    return Parsed(body.select(exprs), issues)


def duplicates(rows: pl.DataFrame, key: str, header: str) -> list[dict]:
    """Issues for repeated values of `key` within the file."""
    if rows.is_empty() or key not in rows.columns:
        return []
    dup = rows.filter(pl.col(key).is_not_null() & pl.col(key).is_duplicated())
    return [
        issue(
            row,
            header,
            v,
            f"第 {row} 行「{header}」的值「{v}」在文件中重复",
            f"Row {row}, column '{header}', value '{v}' appears more than once in the file",
        )
        for row, v in dup.select("_row", key).iter_rows()
    ]


def export_frame(frame: pl.DataFrame, columns: Sequence[Column], lang: str = "zh") -> pl.DataFrame:
    """Columns renamed to their headers, enum codes as Chinese labels (in 'zh'), in the
    shape `parse` reads back."""
    out = []
    for c in columns:
        if c.code not in frame.columns:
            continue
        col = pl.col(c.code)
        if c.kind == "enum" and lang == "zh":
            col = col.replace_strict(dict(c.choices), default=col, return_dtype=pl.String)
        out.append(col.alias(c.zh if lang == "zh" else c.en))
    return frame.select(out)


def write_xlsx(frame: pl.DataFrame, path: Path, sheet: str = "data") -> Path:
    """Write one sheet with a bold header row; dates as dates."""
    std._write_xlsx({sheet: frame}, Path(path))
    return Path(path)
