"""The field catalogue of the data standard (数据规范): every field code the platform uses.

One `Field` per code of `spec/data-standard.md` §1–§3. Imports, rules, indicator models,
API payloads and tests all name fields by these codes. Chinese headers (with or without
unit, half- or full-width brackets) are accepted as aliases on import.

Zone-defined custom fields (自定义字段) become `Field` objects too (see `custom_field`),
so they get the same type, unit, bounds and alias treatment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl


class Kind(StrEnum):
    """The value type of a field."""

    TEXT = "text"
    INT = "int"  # whole counts: persons, patents
    MONEY = "money"  # 万元, two decimals in the UI
    NUMBER = "number"  # any other real number (years, growth)
    RATIO = "ratio"  # a fraction: 0.05 means 5 %
    DATE = "date"
    ENUM = "enum"
    BOOL = "bool"


class Table(StrEnum):
    """Where a field lives."""

    ENTERPRISE = "enterprise"  # one row per enterprise
    YEARLY = "yearly"  # one row per enterprise and year
    DERIVED = "derived"  # computed, never imported


@dataclass(frozen=True)
class Field:
    """One field of the data standard, or a zone's custom field."""

    code: str
    zh: str
    en: str
    kind: Kind
    table: Table
    unit_zh: str = ""
    unit_en: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # enum values, in order where the enum is ordinal
    ordinal: bool = False  # choices are ordered from lowest to highest
    required: bool = False
    max_length: int | None = None
    custom: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def header_zh(self) -> str:
        """The Chinese export header, with the unit in full-width brackets when it has one."""
        return f"{self.zh}（{self.unit_zh}）" if self.unit_zh else self.zh

    def label(self, lang: str) -> str:
        """The field's name in `lang` ('zh' or 'en')."""
        return self.en if lang.startswith("en") else self.zh

    @property
    def polars_dtype(self) -> pl.DataType:
        """The column type this field has in frames."""
        return _DTYPES[self.kind]


_DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.INT: pl.Int64(),
    Kind.MONEY: pl.Float64(),
    Kind.NUMBER: pl.Float64(),
    Kind.RATIO: pl.Float64(),
    Kind.DATE: pl.Date(),
    Kind.ENUM: pl.String(),
    Kind.BOOL: pl.Boolean(),
}

E, Y, D = Table.ENTERPRISE, Table.YEARLY, Table.DERIVED
WAN_ZH, WAN_EN = "万元", "10k CNY"
LEVELS = ("none", "municipal", "provincial", "national")


def _money(code: str, zh: str, en: str, *, minimum: float | None = 0.0) -> Field:
    return Field(code, zh, en, Kind.MONEY, Y, WAN_ZH, WAN_EN, minimum=minimum)


def _count(code: str, zh: str, en: str, unit_zh: str = "个", unit_en: str = "count") -> Field:
    return Field(code, zh, en, Kind.INT, Y, unit_zh, unit_en, minimum=0)


def _persons(code: str, zh: str, en: str) -> Field:
    return Field(code, zh, en, Kind.INT, Y, "人", "persons", minimum=0)


def _ratio(code: str, zh: str, en: str) -> Field:
    return Field(code, zh, en, Kind.RATIO, D)


ENTERPRISE_FIELDS: tuple[Field, ...] = (
    Field("uscc", "统一社会信用代码", "Unified social credit code", Kind.TEXT, E, required=True),
    Field("name", "企业名称", "Enterprise name", Kind.TEXT, E, required=True, max_length=100),
    Field("zone", "所属园区", "Zone", Kind.TEXT, E),
    Field("industry_code", "国民经济行业代码", "Industry code (GB/T 4754-2017)", Kind.TEXT, E),
    Field("region_code", "行政区划代码", "Region code (GB/T 2260)", Kind.TEXT, E),
    Field("registered_on", "成立日期", "Registration date", Kind.DATE, E),
    Field("registered_capital", "注册资本", "Registered capital", Kind.MONEY, E, WAN_ZH, WAN_EN, 0),
    Field(
        "listing_status",
        "上市状态",
        "Listing status",
        Kind.ENUM,
        E,
        choices=("none", "reserve", "listed"),
    ),
    Field(
        "niche_years", "从事细分市场年限", "Years in niche market", Kind.NUMBER, E, "年", "years", 0
    ),
)

YEARLY_FIELDS: tuple[Field, ...] = (
    Field("year", "年度", "Year", Kind.INT, Y, minimum=2000, required=True),
    _money("revenue", "营业收入", "Revenue"),
    _money("main_revenue", "主营业务收入", "Main-business revenue"),
    _money("high_tech_revenue", "高新技术产品（服务）收入", "High-tech product revenue"),
    _money("net_profit", "净利润", "Net profit", minimum=None),
    _money("total_assets", "资产总额", "Total assets"),
    _money("total_liabilities", "负债总额", "Total liabilities"),
    _money("net_assets", "净资产", "Net assets", minimum=None),
    _money("total_cost", "成本费用总额", "Total cost and expenses"),
    _money("tax_paid", "纳税总额", "Tax paid"),
    _money("rd_expense", "研发费用", "R&D expense"),
    _money("rd_expense_domestic", "境内研发费用", "Domestic R&D expense"),
    _money("rd_deduction", "研发费用加计扣除额", "R&D super-deduction"),
    _persons("staff_total", "职工总数", "Total staff"),
    _persons("tech_staff", "科技人员数", "Technology staff"),
    _persons("rd_staff", "研发人员数", "R&D staff"),
    _persons("high_level_talent", "高层次人才数", "High-level talent"),
    _count("invention_patents", "有效发明专利数", "Valid invention patents", "件", "items"),
    _count("utility_patents", "有效实用新型专利数", "Valid utility-model patents", "件", "items"),
    _count("design_patents", "有效外观设计专利数", "Valid design patents", "件", "items"),
    _count("software_copyrights", "软件著作权数", "Software copyrights", "件", "items"),
    _count("ic_layouts", "集成电路布图设计数", "IC layout designs", "件", "items"),
    _count("plant_varieties", "植物新品种数", "Plant varieties", "件", "items"),
    _count("pct_applications", "PCT 国际专利申请数", "PCT applications", "件", "items"),
    _count(
        "invention_applications",
        "当年发明专利申请数",
        "Invention applications this year",
        "件",
        "items",
    ),
    _count("class1_ip", "I 类知识产权数", "Class-I IP rights", "件", "items"),
    _count("class2_ip", "II 类知识产权数", "Class-II IP rights", "件", "items"),
    _count("tech_transfers", "科技成果转化数", "Technology transfers", "项", "items"),
    _money("tech_contract_amount", "技术合同成交额", "Technology contract turnover"),
    _count("standards_led", "主导制定标准数", "Standards led", "项", "items"),
    Field(
        "rd_institution_level",
        "研发机构最高级别",
        "Highest R&D institution level",
        Kind.ENUM,
        Y,
        choices=LEVELS,
        ordinal=True,
    ),
    _count("gov_projects", "承担省级以上科技项目数", "Provincial+ S&T projects", "项", "items"),
    _money("equity_financing", "当年股权融资额", "Equity financing this year"),
    Field(
        "award_level",
        "最高科技奖励级别",
        "Highest S&T award level",
        Kind.ENUM,
        Y,
        choices=LEVELS,
        ordinal=True,
    ),
    _money("export_revenue", "出口额", "Export revenue"),
    Field(
        "market_share_national",
        "细分市场全国占有率",
        "National niche market share",
        Kind.RATIO,
        Y,
        minimum=0,
        maximum=1,
    ),
    Field(
        "tax_credit_grade",
        "纳税信用等级",
        "Tax credit grade",
        Kind.ENUM,
        Y,
        choices=("D", "C", "M", "B", "A"),
        ordinal=True,
    ),
)

STAGES = ("startup", "growth", "mature")
STAGE_NAMES_ZH = {"startup": "初创期", "growth": "成长期", "mature": "稳定期"}
STAGE_NAMES_EN = {"startup": "Start-up", "growth": "Growth", "mature": "Mature"}

DERIVED_FIELDS: tuple[Field, ...] = (
    Field("age_years", "成立年限", "Age in years", Kind.INT, D, "年", "years"),
    _ratio("rd_intensity", "研发费用占营业收入比例", "R&D intensity"),
    _ratio("rd_intensity_3y", "近三年研发费用占营业收入比例", "3-year R&D intensity"),
    _ratio("rd_cost_ratio", "研发费用占成本费用比例", "R&D share of total cost"),
    _ratio("tech_staff_ratio", "科技人员占比", "Technology staff share"),
    _ratio("rd_staff_ratio", "研发人员占比", "R&D staff share"),
    _ratio("high_tech_revenue_ratio", "高新技术产品收入占比", "High-tech revenue share"),
    _ratio("main_revenue_ratio", "主营业务收入占比", "Main-business revenue share"),
    _ratio("debt_ratio", "资产负债率", "Debt ratio"),
    _ratio("revenue_growth", "营业收入增长率", "Revenue growth"),
    _ratio("revenue_cagr_3y", "营业收入三年复合增长率", "3-year revenue CAGR"),
    _ratio("net_asset_growth", "净资产增长率", "Net-asset growth"),
    _ratio("staff_growth", "职工人数增长率", "Staff growth"),
    Field("stage", "发展阶段", "Stage", Kind.ENUM, D, choices=STAGES, ordinal=True),
)

QUALIFICATION_TYPES: dict[str, tuple[str, str]] = {
    "high_tech": ("高新技术企业", "High-tech enterprise"),
    "tech_sme": ("科技型中小企业", "Tech-based SME"),
    "innovative_sme": ("创新型中小企业", "Innovative SME"),
    "srdi_sme": ("专精特新中小企业", "Specialised & innovative SME"),
    "little_giant": ('专精特新"小巨人"', "Little-giant enterprise"),
    "gazelle": ("瞪羚企业", "Gazelle enterprise"),
    "tech_leader": ("科技领军企业", "Tech-leader enterprise"),
}

NEGATIVE_TYPES: dict[str, tuple[str, str]] = {
    "serious_dishonesty": ("严重失信", "Serious dishonesty"),
    "abnormal_operation": ("经营异常", "Abnormal operation"),
    "major_incident": ("重大安全/质量/环境事故", "Major safety/quality/environmental incident"),
    "research_misconduct": ("科研严重失信", "Serious research misconduct"),
}

QUALIFICATION_FIELDS: tuple[Field, ...] = (
    Field("uscc", "统一社会信用代码", "Unified social credit code", Kind.TEXT, E, required=True),
    Field(
        "type",
        "资质类型",
        "Qualification type",
        Kind.TEXT,
        E,
        required=True,
        aliases=("资质",),
    ),
    Field("certificate_no", "证书编号", "Certificate number", Kind.TEXT, E, max_length=64),
    Field("valid_from", "有效期起", "Valid from", Kind.DATE, E, required=True),
    Field("valid_until", "有效期止", "Valid until", Kind.DATE, E),
)

NEGATIVE_FIELDS: tuple[Field, ...] = (
    Field("uscc", "统一社会信用代码", "Unified social credit code", Kind.TEXT, E, required=True),
    Field("type", "负面类型", "Negative record type", Kind.TEXT, E, required=True),
    Field("occurred_on", "发生日期", "Occurred on", Kind.DATE, E, required=True),
    Field("cleared_on", "解除日期", "Cleared on", Kind.DATE, E),
)

STANDARD_FIELDS: dict[str, Field] = {
    f.code: f for f in (*ENTERPRISE_FIELDS, *YEARLY_FIELDS, *DERIVED_FIELDS)
}


def custom_field(
    code: str,
    zh: str,
    en: str,
    kind: str,
    unit_zh: str = "",
    unit_en: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
) -> Field:
    """A zone's own yearly field (自定义字段), treated like the standard ones."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", code):
        raise ValueError(f"custom field code {code!r}: lower-case letters, digits, _ (2–40)")
    if code in STANDARD_FIELDS or code.startswith(("has_", "neg_")):
        raise ValueError(f"custom field code {code!r} collides with a standard field")
    return Field(
        code,
        zh,
        en,
        Kind(kind),
        Y,
        unit_zh,
        unit_en,
        minimum=minimum,
        maximum=maximum,
        choices=tuple(choices),
        custom=True,
    )


def normalise_header(text: str) -> str:
    """Fold a column header for alias matching: brackets, spaces, case, full-width forms."""
    folded = str(text).strip().lower()
    folded = folded.translate(str.maketrans("（）［］【】　：", "()[][] :"))
    folded = re.sub(r"\s+", "", folded)
    return folded


def _strip_unit(folded: str) -> str:
    return re.sub(r"\([^()]*\)$", "", folded)


def header_lookup(fields: tuple[Field, ...] | list[Field]) -> dict[str, str]:
    """Map every accepted header (code, Chinese name, with or without unit, English) to a code."""
    lookup: dict[str, str] = {}
    for f in fields:
        names = [f.code, f.zh, f.header_zh, f.en, *f.aliases]
        if f.unit_zh:
            names += [f"{f.zh}({f.unit_zh})", f"{f.zh}[{f.unit_zh}]"]
        for name in names:
            lookup.setdefault(normalise_header(name), f.code)
    return lookup


def resolve_header(header: str, lookup: dict[str, str]) -> str | None:
    """The field code a column header names, or None when it names none."""
    folded = normalise_header(header)
    if folded in lookup:
        return lookup[folded]
    return lookup.get(_strip_unit(folded))


def field_catalogue(custom: list[Field] | tuple[Field, ...] = ()) -> dict[str, Field]:
    """All field codes a zone knows: the standard plus its custom fields."""
    return {**STANDARD_FIELDS, **{f.code: f for f in custom}}
