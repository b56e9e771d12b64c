"""The policy catalogue as documents: check entries, read and write YAML and Excel.

An entry is a mapping of the `FIELDS` below. `check_entry` types and checks one entry and
returns the clean values with every problem as an `Issue` naming the row (or YAML entry),
the field, the value and the message in Chinese and English; rule and amount problems
carry the rule engine's node paths (`rule.all[1].>=[0].field: unknown field ...`).
Nothing here touches the database: `actions.do_import_policies` writes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from innopoints.policies.matching import validate_policy
from innopoints.standard.catalogue import Field

FORMAT = "innopoints-policies/1"
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 1000
MODES = ("no_application", "application")
MODE_ALIASES = {
    "免申即享": "no_application",
    "no_application": "no_application",
    "快申快享": "application",
    "application": "application",
    "申请": "application",
}
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")

# code, Chinese header, English header, required
FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("code", "政策代码", "Code", True),
    ("title_zh", "政策名称", "Title (Chinese)", True),
    ("title_en", "英文名称", "Title (English)", False),
    ("department", "发文部门", "Issuing department", True),
    ("document_number", "文号", "Document number", False),
    ("document_url", "原文链接", "Document link", False),
    ("beneficiaries", "惠及对象", "Beneficiaries", False),
    ("mode", "兑现方式", "Mode", True),
    ("rule", "申报条件（规则）", "Conditions (rule)", True),
    ("amount", "兑现金额公式（万元）", "Amount formula (10k CNY)", True),
    ("budget", "预算（万元）", "Budget (10k CNY)", False),
    ("effective_from", "生效日期", "Effective from", True),
    ("effective_until", "失效日期", "Effective until", False),
    ("required_documents", "申报材料", "Required documents", False),
    ("deadline_working_days", "兑现时限（工作日）", "Payout limit (working days)", True),
    ("address", "受理地址", "Service address", False),
    ("phone", "咨询电话", "Phone", False),
    ("notes", "备注", "Notes", False),
)
FIELD_CODES = tuple(f[0] for f in FIELDS)
ZH = {f[0]: f[1] for f in FIELDS}
EN = {f[0]: f[2] for f in FIELDS}
HEADERS = {**{f[1]: f[0] for f in FIELDS}, **{f[2]: f[0] for f in FIELDS},
           **{f[0]: f[0] for f in FIELDS}}  # fmt: skip
MAX_LENGTHS = {
    "title_zh": 200,
    "title_en": 250,
    "department": 200,
    "document_number": 120,
    "document_url": 400,
    "address": 300,
    "phone": 60,
}


@dataclass
class Issue:
    """One problem of an entry: where (row or entry number, field), the value, the message."""

    row: int | None
    field: str
    value: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.where('zh')}{self.zh} / {self.where('en')}{self.en}"

    def where(self, lang: str) -> str:
        """'第3行 预算（万元）：' or 'row 3, Budget (10k CNY): '."""
        label = (EN if lang == "en" else ZH).get(self.field, self.field)
        if lang == "en":
            return (f"row {self.row}, " if self.row else "") + f"{label}: "
        return (f"第{self.row}行 " if self.row else "") + f"{label}："

    @property
    def where_zh(self) -> str:
        """The place in Chinese (for templates)."""
        return self.where("zh")

    @property
    def where_en(self) -> str:
        """The place in English (for templates)."""
        return self.where("en")

    def as_dict(self) -> dict[str, Any]:
        """The issue as JSON."""
        return {"row": self.row, "field": self.field, "value": self.value, "zh": self.zh,
                "en": self.en}  # fmt: skip


class CatalogueFileError(ValueError):
    """A file that cannot be read at all (the message is bilingual)."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else yaml.safe_dump(value, allow_unicode=True).strip()
    return text if len(text) <= 120 else text[:117] + "…"


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _tree(value: Any) -> Any:
    """A rule or amount: a mapping/number already, or YAML/JSON text in a cell."""
    if isinstance(value, str):
        return yaml.safe_load(value)
    return value


def check_entry(
    raw: dict[str, Any], row: int | None = None, custom_fields: Sequence[Field] = ()
) -> tuple[dict[str, Any], list[Issue]]:
    """Type and check one catalogue entry; (clean values, issues). Unknown keys are issues."""
    issues: list[Issue] = []

    def bad(field: str, value: Any, zh: str, en: str) -> None:
        issues.append(Issue(row, field, _short(value) if value is not None else "", zh, en))

    clean: dict[str, Any] = {}
    for key in raw:
        if key not in FIELD_CODES:
            bad(str(key), raw[key], f"未知字段“{key}”", f"unknown field {key!r}")
    for code, _zh, _en, required in FIELDS:
        value = raw.get(code)
        empty = value is None or (isinstance(value, str) and not value.strip())
        if empty:
            if required:
                bad(code, "", "必填项为空", "required, but empty")
            clean[code] = None
            continue
        if code in ("rule", "amount"):
            try:
                clean[code] = _tree(value)
            except yaml.YAMLError as exc:
                bad(code, value, f"不是有效的 YAML/JSON：{exc}", f"not valid YAML/JSON: {exc}")
                clean[code] = None
        elif code == "mode":
            mode = MODE_ALIASES.get(_text(value))
            if mode is None:
                bad(
                    code,
                    value,
                    "应为 免申即享 或 快申快享",
                    "must be no_application or application",
                )
            clean[code] = mode
        elif code == "budget":
            try:
                clean[code] = float(value)
                if clean[code] < 0:
                    raise ValueError
            except (TypeError, ValueError):
                bad(code, value, "应为不小于 0 的数（万元）", "must be a number ≥ 0 (10k CNY)")
                clean[code] = None
        elif code == "deadline_working_days":
            try:
                number = float(value)
                if not number.is_integer() or not 1 <= number <= 365:
                    raise ValueError
                clean[code] = int(number)
            except (TypeError, ValueError):
                bad(code, value, "应为 1–365 的整数", "must be a whole number from 1 to 365")
                clean[code] = None
        elif code in ("effective_from", "effective_until"):
            try:
                clean[code] = _date(value)
            except ValueError:
                bad(code, value, "日期格式应为 YYYY-MM-DD", "a date must be YYYY-MM-DD")
                clean[code] = None
        elif code == "required_documents":
            if isinstance(value, list):
                docs = [_text(v) for v in value]
            else:
                docs = [p.strip() for p in re.split(r"[;；\n]", _text(value))]
            clean[code] = [d[:200] for d in docs if d]
        elif code == "code":
            text = _text(value).lower()
            if not CODE_RE.match(text):
                bad(code, value, "只能含小写字母、数字、-、_，最长 60 个字符",
                    "only lower-case letters, digits, - and _, at most 60 characters")  # fmt: skip
            clean[code] = text
        else:
            text = _text(value)
            limit = MAX_LENGTHS.get(code)
            if limit and len(text) > limit:
                bad(code, value, f"超过 {limit} 个字符", f"longer than {limit} characters")
            if code == "document_url" and text and not text.startswith(("http://", "https://")):
                bad(code, value, "链接应以 http:// 或 https:// 开头",
                    "a link starts with http:// or https://")  # fmt: skip
            clean[code] = text
    start, end = clean.get("effective_from"), clean.get("effective_until")
    if start and end and end < start:
        bad("effective_until", end.isoformat(), "失效日期早于生效日期",
            "the end date is before the start date")  # fmt: skip
    if clean.get("rule") is not None and clean.get("amount") is not None:
        for problem in validate_policy(clean["rule"], clean["amount"], custom_fields):
            field = "amount" if problem.path.startswith("amount") else "rule"
            value = raw.get(field)
            bad(field, value, f"{problem.path}：{problem.message}",
                f"{problem.path}: {problem.message}")  # fmt: skip
    for key in ("title_en", "document_number", "document_url", "beneficiaries", "address",
                "phone", "notes"):  # fmt: skip
        clean[key] = clean.get(key) or ""
    clean["required_documents"] = clean.get("required_documents") or []
    return clean, issues


# ----------------------------------------------------------------------------- YAML


def read_yaml(text: str | bytes) -> list[tuple[int, dict[str, Any]]]:
    """The entries of a YAML catalogue as (entry number from 1, mapping)."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise CatalogueFileError("文件超过 2 MB", "the file is larger than 2 MB")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CatalogueFileError("文件不是 UTF-8 编码", "the file is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueFileError(f"不是有效的 YAML：{exc}", f"not valid YAML: {exc}") from None
    if isinstance(data, dict):
        data = data.get("policies")
    if not isinstance(data, list):
        raise CatalogueFileError(
            "YAML 应为政策列表，或含 policies: 列表的文档",
            "the YAML must be a list of policies or a document with a policies: list",
        )
    if len(data) > MAX_ENTRIES:
        raise CatalogueFileError(f"最多 {MAX_ENTRIES} 条政策", f"at most {MAX_ENTRIES} policies")
    out = []
    for i, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            entry = {"__invalid__": entry}
        out.append((i, entry))
    return out


def _yaml_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_yaml(entries: Sequence[dict[str, Any]]) -> str:
    """A YAML catalogue of entries (the format `read_yaml` reads)."""
    items = []
    for entry in entries:
        item = {}
        for code in FIELD_CODES:
            value = entry.get(code)
            if value in (None, "", []):
                continue
            item[code] = _yaml_value(value)
        items.append(item)
    return yaml.safe_dump(
        {"format": FORMAT, "policies": items}, allow_unicode=True, sort_keys=False, width=100
    )


def shipped_catalogue(name: str = "demo-zone") -> Path:
    """The path of a shipped catalogue (`specs/policies/<name>.yaml`)."""
    return Path(__file__).resolve().parent.parent / "specs" / "policies" / f"{name}.yaml"


# ----------------------------------------------------------------------------- Excel

SHEET = "政策清单"
HELP_SHEET = "填写说明"


def _cell_text(code: str, value: Any) -> Any:
    if code in ("rule", "amount"):
        if value is None:
            return ""
        if isinstance(value, int | float):
            return value
        return yaml.safe_dump(
            value, allow_unicode=True, default_flow_style=True, width=10**6
        ).strip()
    if code == "required_documents":
        return "；".join(value or [])
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if value is not None else ""


def write_excel(entries: Sequence[dict[str, Any]]) -> bytes:
    """An Excel workbook a policy officer fills: one row per policy, Chinese headers
    (English in the second row as a note), and a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([f[1] for f in FIELDS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F3")
    for entry in entries:
        sheet.append([_cell_text(code, entry.get(code)) for code in FIELD_CODES])
    for i, (code, *_rest) in enumerate(FIELDS):
        letter = sheet.cell(row=1, column=i + 1).column_letter
        sheet.column_dimensions[letter].width = (
            40 if code in ("rule", "amount", "beneficiaries") else 18
        )
    sheet.freeze_panes = "B2"
    help_sheet = book.create_sheet(HELP_SHEET)
    help_sheet.append(["列 / Column", "English", "必填 / Required", "说明 / How to fill"])
    notes = {
        "code": "小写字母、数字、-、_；同一代码再次导入即为该政策的新版本 / a new version of the same code",
        "mode": "免申即享 或 快申快享 / no_application or application",
        "rule": '规则语言（YAML 或 JSON），如 {">=": [{field: rd_expense}, 100]}；见 docs/rules.md',
        "amount": '金额公式（万元），如 {min: [{"*": [0.1, {field: rd_expense}]}, 100]} 或常数 30',
        "effective_from": "YYYY-MM-DD",
        "effective_until": "YYYY-MM-DD，可空 / may be empty",
        "required_documents": "以“；”分隔 / separated by ；",
        "deadline_working_days": "按国务院节假日安排计算的工作日 / working days (State Council schedule)",
    }
    for code, zh, en, required in FIELDS:
        help_sheet.append([zh, en, "是 / yes" if required else "", notes.get(code, "")])
    help_sheet.column_dimensions["A"].width = 24
    help_sheet.column_dimensions["B"].width = 28
    help_sheet.column_dimensions["D"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_excel(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a filled template as (Excel row number, mapping); headers in Chinese,
    English or field codes. Formulas are read as their cached values."""
    from openpyxl import load_workbook

    if len(data) > MAX_FILE_BYTES:
        raise CatalogueFileError("文件超过 2 MB", "the file is larger than 2 MB")
    if not data.startswith(b"PK\x03\x04"):
        raise CatalogueFileError("不是 .xlsx 文件", "not an .xlsx file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > 50 * MAX_FILE_BYTES:
                raise CatalogueFileError("文件解压后过大", "the file expands too much")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except CatalogueFileError:
        raise
    except Exception as exc:
        raise CatalogueFileError(
            f"无法读取 Excel 文件：{exc}", f"cannot read the workbook: {exc}"
        ) from None
    sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        raise CatalogueFileError("工作表为空", "the sheet is empty") from None
    columns: list[str | None] = []
    unknown = []
    for h in header:
        name = _text(h)
        code = HEADERS.get(name)
        if name and code is None:
            unknown.append(name)
        columns.append(code)
    if unknown:
        raise CatalogueFileError(
            f"无法识别的列：{'、'.join(unknown)}", f"unknown columns: {', '.join(unknown)}"
        )
    out = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ENTRIES + 1:
            raise CatalogueFileError(f"最多 {MAX_ENTRIES} 行", f"at most {MAX_ENTRIES} rows")
        entry = {c: v for c, v in zip(columns, values, strict=False) if c is not None}
        if all(v is None or _text(v) == "" for v in entry.values()):
            continue
        out.append((number, entry))
    return out
