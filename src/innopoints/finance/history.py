"""A bank's loan history (its book before the platform), read from .xlsx or .csv and checked
in Polars: the outcomes the calibration and the default-rate statistics learn from.

Columns (Chinese or code headers; optional ones in brackets): uscc 统一社会信用代码,
product 产品代码, amount 放款金额 (万元), rate 利率 (%), term_months 期限 (月),
disbursed_on 放款日期, status 状态 (running 在贷 / overdue 逾期 / repaid 结清 /
defaulted 违约), [principal_repaid 已还本金], [settled_on 结清日期] (required when repaid),
[defaulted_on 违约日期] (required when defaulted), [band 梯队], [grade 额度档次],
[points 积分], [credit_share 信用占比].

Every problem names the row as the spreadsheet shows it, the column and the value, in
Chinese and English; any problem writes nothing. A row already imported (same firm,
product and disbursement date) is skipped, so importing a file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import polars as pl

HEADERS: dict[str, tuple[str, ...]] = {
    "uscc": ("uscc", "统一社会信用代码", "信用代码"),
    "product": ("product", "产品代码", "产品"),
    "amount": ("amount", "放款金额", "金额"),
    "rate": ("rate", "利率"),
    "term_months": ("term_months", "期限", "期限(月)", "期限（月）"),
    "disbursed_on": ("disbursed_on", "放款日期", "放款日"),
    "status": ("status", "状态"),
    "principal_repaid": ("principal_repaid", "已还本金"),
    "settled_on": ("settled_on", "结清日期"),
    "defaulted_on": ("defaulted_on", "违约日期"),
    "band": ("band", "梯队"),
    "grade": ("grade", "额度档次", "档次"),
    "points": ("points", "积分"),
    "credit_share": ("credit_share", "信用占比"),
}
REQUIRED = ("uscc", "product", "amount", "rate", "term_months", "disbursed_on", "status")
STATUS = {
    "running": "disbursed",
    "在贷": "disbursed",
    "disbursed": "disbursed",
    "overdue": "overdue",
    "逾期": "overdue",
    "repaid": "repaid",
    "结清": "repaid",
    "已结清": "repaid",
    "defaulted": "defaulted",
    "违约": "defaulted",
}
MAX_ROWS = 100_000
MAX_BYTES = 20 * 1024 * 1024


class HistoryFileError(ValueError):
    """The file as a whole cannot be read (bilingual message)."""


@dataclass
class HistoryCheck:
    """The typed rows and every problem found."""

    rows: pl.DataFrame
    errors: list[str] = field(default_factory=list)
    read: int = 0


def read_table(data: bytes, file_name: str) -> pl.DataFrame:
    """An .xlsx or .csv (UTF-8 with or without BOM, or GB18030) as a frame of strings."""
    if len(data) > MAX_BYTES:
        raise HistoryFileError("文件过大 / the file is larger than 20 MB")
    if not data.strip():
        raise HistoryFileError("文件为空 / the file is empty")
    if data.startswith(b"PK\x03\x04"):
        try:
            import fastexcel

            return fastexcel.read_excel(data).load_sheet(0, dtypes="string").to_polars()
        except Exception as exc:  # noqa: BLE001 - calamine has its own error types
            raise HistoryFileError("不是可读的 .xlsx 文件 / not a readable .xlsx workbook") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return pl.read_csv(io.StringIO(text), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            raise HistoryFileError("CSV 格式错误 / not a well-formed CSV") from exc
    raise HistoryFileError("既不是 .xlsx 也不是 UTF-8/GBK 的 .csv / neither .xlsx nor .csv")


def _columns(raw: pl.DataFrame) -> dict[str, str]:
    names: dict[str, str] = {}
    for column in raw.columns:
        key = column.strip().lower()
        for code, aliases in HEADERS.items():
            if key in aliases:
                names.setdefault(code, column)
    return names


def _date(c: pl.Expr) -> pl.Expr:
    text = c.str.strip_chars().str.slice(0, 10).str.replace_all("/", "-")
    return text.str.to_date("%Y-%m-%d", strict=False)


def check(
    raw: pl.DataFrame,
    firms: dict[str, int],
    products: dict[str, int],
    today: dt.date,
) -> HistoryCheck:
    """Type and check every row: `firms` maps the USCCs the bank may lend to (its partner
    zones) to ids, `products` the bank's product codes to ids."""
    if raw.height > MAX_ROWS:
        raise HistoryFileError(f"行数超过 {MAX_ROWS} / more than {MAX_ROWS} rows")
    names = _columns(raw)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise HistoryFileError(f"缺少列 / missing columns: {', '.join(missing)}")

    def col(code: str) -> pl.Expr:
        if code in names:
            return pl.col(names[code]).cast(pl.String).str.strip_chars()
        return pl.lit(None, pl.String)

    frame = raw.with_row_index("row", offset=2).select(
        pl.col("row").cast(pl.Int64),
        *[col(code).alias(f"{code}_text") for code in HEADERS],
    )
    frame = frame.with_columns(
        pl.col("uscc_text").str.to_uppercase().alias("uscc"),
        pl.col("product_text").str.to_lowercase().alias("product"),
        pl.col("amount_text").cast(pl.Float64, strict=False).alias("amount"),
        pl.col("rate_text").cast(pl.Float64, strict=False).alias("rate"),
        pl.col("term_months_text")
        .cast(pl.Float64, strict=False)
        .cast(pl.Int64, strict=False)
        .alias("term_months"),
        _date(pl.col("disbursed_on_text")).alias("disbursed_on"),
        pl.col("status_text")
        .str.to_lowercase()
        .replace_strict(STATUS, default=None)
        .alias("status"),
        pl.col("principal_repaid_text")
        .cast(pl.Float64, strict=False)
        .fill_null(0.0)
        .alias("principal_repaid"),
        _date(pl.col("settled_on_text")).alias("settled_on"),
        _date(pl.col("defaulted_on_text")).alias("defaulted_on"),
        pl.col("band_text").fill_null("").alias("band"),
        pl.col("grade_text").fill_null("").alias("grade"),
        pl.col("points_text").cast(pl.Float64, strict=False).alias("points"),
        pl.col("credit_share_text")
        .cast(pl.Float64, strict=False)
        .fill_null(1.0)
        .alias("credit_share"),
    )
    frame = frame.with_columns(
        pl.col("uscc")
        .replace_strict(firms, default=None, return_dtype=pl.Int64)
        .alias("enterprise_id"),
        pl.col("product")
        .replace_strict(products, default=None, return_dtype=pl.Int64)
        .alias("product_id"),
    )
    checks: list[tuple[pl.Expr, str, str, str]] = [
        (
            pl.col("enterprise_id").is_null(),
            "uscc",
            "不是贵行合作园区的企业",
            "not a firm of a partner zone",
        ),
        (
            pl.col("product_id").is_null(),
            "product",
            "不是贵行的产品代码",
            "not a product code of the bank",
        ),
        (
            pl.col("amount").is_null() | ~pl.col("amount").is_between(0.01, 1e9),
            "amount",
            "金额须为大于 0 的数",
            "the amount must be a number above 0",
        ),
        (
            pl.col("rate").is_null() | ~pl.col("rate").is_between(0, 36),
            "rate",
            "利率须在 0–36 之间",
            "the rate must be within 0–36",
        ),
        (
            pl.col("term_months").is_null() | ~pl.col("term_months").is_between(1, 360),
            "term_months",
            "期限须为 1–360 个月",
            "the term must be 1–360 months",
        ),
        (
            pl.col("disbursed_on").is_null() | (pl.col("disbursed_on") > today),
            "disbursed_on",
            "放款日期无效或在未来",
            "not a date, or in the future",
        ),
        (pl.col("status").is_null(), "status", "状态无效", "unknown status"),
        (
            ~pl.col("principal_repaid").is_between(0, pl.col("amount").fill_null(0)),
            "principal_repaid",
            "已还本金须在 0 与金额之间",
            "must be within 0 and the amount",
        ),
        (
            (pl.col("status") == "repaid")
            & (pl.col("settled_on").is_null() | (pl.col("settled_on") < pl.col("disbursed_on"))),
            "settled_on",
            "结清的贷款须有不早于放款日的结清日期",
            "a repaid loan needs a settlement date on or after the disbursement",
        ),
        (
            (pl.col("status") == "defaulted")
            & (
                pl.col("defaulted_on").is_null()
                | (pl.col("defaulted_on") < pl.col("disbursed_on"))
                | (pl.col("defaulted_on") > today)
            ),
            "defaulted_on",
            "违约的贷款须有不早于放款日的违约日期",
            "a defaulted loan needs a default date on or after the disbursement",
        ),
        (
            ~pl.col("credit_share").is_between(0, 1),
            "credit_share",
            "信用占比须在 0–1 之间",
            "the credit share must be within 0–1",
        ),
        (
            pl.struct("uscc", "product", "disbursed_on").is_duplicated()
            & pl.col("uscc").is_not_null(),
            "uscc",
            "同一企业、产品和放款日期重复出现",
            "the firm, product and disbursement date appear more than once",
        ),
    ]
    errors: list[str] = []
    bad = pl.lit(False)
    for condition, column, zh, en in checks:
        hit = condition.fill_null(True)
        rows = frame.filter(hit).select("row", f"{column}_text").iter_rows()
        header = names.get(column, column)
        errors += [
            f"第 {r} 行，{header} 列（{v if v not in (None, '') else '空'}）：{zh} / "
            f"row {r}, column {header} ({v if v not in (None, '') else 'empty'}): {en}"
            for r, v in rows
        ]
        bad = bad | hit
    good = frame.filter(~bad).drop([c for c in frame.columns if c.endswith("_text")])
    return HistoryCheck(rows=good, errors=errors, read=frame.height)
