"""A realistic synthetic high-tech zone (演示园区): enterprises, yearly data, qualifications.

`generate_zone` draws a whole zone at once with numpy: every yearly field is an
(enterprises × years) matrix, every step is a vectorised draw, and the only Python loops
run over years, fields and qualification types, never over enterprises. 10^6 firms × 4
years take seconds. The same seed gives the same zone.

What makes it realistic (every later feature and benchmark is judged on it):

- industries weighted like a Chinese high-tech zone (electronics, software, R&D and tech
  services, equipment, pharma, electrical, instruments, chemicals, a tail), with valid
  GB/T 4754-2017 codes; each industry has its own size, R&D, staff and IP profile;
- two latent traits per firm, *size* and *innovativeness*, drive heavy-tailed (lognormal)
  revenue and staff, R&D intensity, tech staff, patents and institutions, so those are
  correlated with industry and with each other;
- registration dates spread over 25 years; firms founded inside the window have fewer
  yearly rows; most grow, some decline, a few stop reporting or skip a year;
- qualifications are awarded by simulating applications year by year against the
  official criteria (`spec/domain.md`): a firm mostly holds 高企 when its numbers meet
  the criteria, certificates last three years and are renewed, 科技型中小企业 is yearly;
- a few negative records (~1.5 % of firms), some missing cells (more in rare fields),
  and a handful of firm-years sitting exactly on rule thresholds.

Every cross-field rule of the data standard holds in every row (parts ≤ totals, staff
subsets ≤ staff, shares within [0, 1], non-negative amounts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from innopoints.standard.catalogue import (
    QUALIFICATION_TYPES,
    YEARLY_FIELDS,
    Kind,
)
from innopoints.standard.codes import USCC_CHARSET, USCC_WEIGHTS, region_problem
from innopoints.standard.panel import wide_panel

__all__ = ["DemoZone", "generate_zone", "write_zone", "INDUSTRIES"]

_EPOCH = date(1970, 1, 1)
DERIVABLE_LEFT_NULL = ("net_assets", "class1_ip", "class2_ip")


def _days(d: date) -> int:
    return (d - _EPOCH).days


# ---------------------------------------------------------------------------------------
# Industry profiles
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndustryGroup:
    """An industry's economic profile (medians for a firm of average traits at age 8)."""

    key: str
    weight: float  # share of the zone's firms
    codes: tuple[tuple[str, float], ...]  # GB/T 4754-2017 codes and relative weights
    words: tuple[str, ...]  # industry words in company names
    revenue: float  # median revenue (万元) of an average firm aged 8
    revenue_per_staff: float  # 万元 per person
    rd_intensity: float  # median R&D ÷ revenue
    tech_share: float  # median tech-staff share
    high_tech_share: float  # median high-tech revenue share
    invention: float  # log-rate constant for invention patents
    utility: float
    design: float
    software: float
    export_prob: float  # probability that a firm exports at all
    asset_turnover: float  # total assets ÷ revenue


# One row per industry group: share of the zone's firms, then the profile fields of
# `IndustryGroup` in order (revenue 万元, 万元 per person, R&D intensity, tech-staff share,
# high-tech revenue share, log-rate constants for invention / utility / design patents and
# software copyrights, probability of exporting, assets ÷ revenue).
# fmt: off
_PROFILES: dict[str, tuple[float, ...]] = {
    #                      share  revenue rev/staff  rd_int tech  ht     inv   util  design  soft  export turnover
    "electronics":           (0.15,   3000,    80, 0.045, 0.22, 0.65,  -1.3,  -0.6,  -3.0,  -1.5, 0.60, 1.1),
    "software":              (0.16,   1000,    35, 0.090, 0.45, 0.70,  -2.4,  -4.0,  -5.0,   0.2, 0.12, 0.8),
    "internet":              (0.04,    800,    40, 0.070, 0.38, 0.55,  -2.6,  -4.5,  -4.0,  -0.3, 0.08, 0.8),
    "telecom":               (0.01,   1500,    60, 0.030, 0.30, 0.50,  -2.8,  -2.5,  -5.0,  -1.0, 0.05, 1.2),
    "research":              (0.06,    500,    35, 0.150, 0.55, 0.60,  -1.0,  -1.5,  -4.0,  -1.5, 0.10, 1.3),
    "tech_services":         (0.08,    500,    40, 0.060, 0.35, 0.45,  -2.0,  -1.6,  -4.0,  -1.0, 0.05, 1.0),
    "professional":          (0.03,    700,    35, 0.040, 0.40, 0.40,  -2.6,  -2.0,  -4.0,  -1.5, 0.03, 0.9),
    "general_equipment":     (0.06,   4000,    90, 0.035, 0.18, 0.55,  -1.6,  -0.2,  -3.2,  -2.5, 0.35, 1.2),
    "special_equipment":     (0.08,   3500,    85, 0.040, 0.20, 0.58,  -1.5,  -0.3,  -3.0,  -2.2, 0.30, 1.2),
    "pharma":                (0.08,   5000,    90, 0.060, 0.20, 0.62,  -0.9,  -1.2,  -2.2,  -3.5, 0.30, 1.6),
    "electrical":            (0.06,   4000,   100, 0.035, 0.16, 0.55,  -1.7,  -0.3,  -3.0,  -2.6, 0.40, 1.1),
    "instruments":           (0.04,   2500,    70, 0.055, 0.25, 0.62,  -1.3,  -0.4,  -3.2,  -1.4, 0.30, 1.1),
    "chemicals":             (0.04,   6000,   150, 0.030, 0.13, 0.50,  -1.5,  -1.0,  -4.0,  -4.0, 0.35, 1.3),
    "other_manufacturing":   (0.06,   3000,   110, 0.020, 0.10, 0.35,  -2.5,  -0.8,  -2.5,  -4.0, 0.25, 1.1),
    "trade":                 (0.02,   2000,   150, 0.008, 0.10, 0.15,  -4.0,  -3.0,  -4.0,  -2.5, 0.15, 0.6),
}

# GB/T 4754-2017 codes (class level, or division level as some registries keep) and relative weights.
_CODES: dict[str, tuple[tuple[str, float], ...]] = {
    "electronics": (("C3911", 1), ("C3921", 1), ("C3922", 0.5), ("C3971", 0.5), ("C3972", 0.5), ("C3973", 1), ("C3976", 1), ("C3982", 1.2), ("C3983", 1.2), ("C3985", 1), ("C39", 0.5)),
    "software": (("I6511", 0.5), ("I6513", 3), ("I6520", 0.6), ("I6531", 2), ("I6532", 1), ("I6540", 0.5), ("I6550", 0.5), ("I6560", 1), ("I65", 1)),
    "internet": (("I6429", 1), ("I6431", 1), ("I6433", 0.6), ("I6450", 1), ("I64", 0.6)),
    "telecom": (("I6319", 1), ("I63", 0.3)),
    "research": (("M7320", 5), ("M7310", 1.5), ("M7340", 2), ("M7330", 0.5), ("M73", 1)),
    "tech_services": (("M7512", 1), ("M7513", 1), ("M7514", 1), ("M7515", 1), ("M7516", 1), ("M7517", 0.3), ("M7519", 1), ("M7520", 0.5), ("M7530", 0.5), ("M7540", 0.3), ("M75", 1)),
    "professional": (("M7452", 1), ("M7491", 1), ("M74", 0.5)),
    "general_equipment": (("C3421", 1), ("C3441", 1), ("C3451", 0.6), ("C3491", 1), ("C3493", 0.5), ("C34", 0.6)),
    "special_equipment": (("C3544", 0.5), ("C3562", 0.8), ("C3581", 1), ("C3584", 1), ("C3591", 1), ("C3599", 0.8), ("C35", 0.6)),
    "pharma": (("C2710", 1), ("C2720", 1.2), ("C2740", 1), ("C2761", 1), ("C2762", 0.6), ("C2770", 0.6), ("C27", 0.5)),
    "electrical": (("C3812", 1), ("C3823", 1), ("C3824", 0.8), ("C3825", 0.8), ("C3841", 0.8), ("C38", 0.5)),
    "instruments": (("C4011", 1), ("C4014", 1), ("C4021", 1), ("C4028", 0.8), ("C40", 0.5)),
    "chemicals": (("C2614", 1), ("C2641", 1), ("C2661", 1), ("C2662", 1), ("C26", 0.5)),
    "other_manufacturing": (("C3670", 1.5), ("C2929", 1), ("C3360", 0.8), ("C3743", 0.5), ("C1491", 0.6), ("D4416", 0.4)),
    "trade": (("F5176", 1), ("F5177", 0.5)),
}
_WORDS: dict[str, tuple[str, ...]] = {
    "electronics": ("电子科技", "电子", "光电科技", "微电子", "半导体", "通信技术", "电子技术", "传感技术"),
    "software": ("软件", "软件技术", "信息技术", "信息科技", "数据科技", "智能科技", "网络技术"),
    "internet": ("网络科技", "互联网科技", "数字科技", "信息服务"),
    "telecom": ("通信", "通信技术", "通讯"),
    "research": ("科技", "技术开发", "新材料技术", "工程技术研究"),
    "tech_services": ("科技发展", "技术服务", "科技", "技术推广"),
    "professional": ("检测技术", "检测", "工业设计", "工程技术"),
    "general_equipment": ("机械", "机械制造", "精密机械", "机电设备", "装备科技"),
    "special_equipment": ("装备制造", "专用设备", "智能装备", "机械设备"),
    "pharma": ("生物医药", "药业", "制药", "生物科技", "医药科技", "生物制药"),
    "electrical": ("电气", "电气设备", "电力科技", "电机", "电源科技", "电力电子"),
    "instruments": ("仪器仪表", "测控技术", "仪器", "分析仪器", "自动化"),
    "chemicals": ("化工", "新材料", "精细化工", "化学"),
    "other_manufacturing": ("实业", "科技"),
    "trade": ("科贸", "电子商务", "商贸"),
}
# fmt: on

INDUSTRIES: tuple[IndustryGroup, ...] = tuple(
    IndustryGroup(key, p[0], _CODES[key], _WORDS[key], *p[1:]) for key, p in _PROFILES.items()
)

# Name words for codes whose group words would not fit (an auto-parts maker is no 食品科技).
CODE_WORDS: dict[str, tuple[str, ...]] = {
    "I6520": ("集成电路设计", "微电子", "芯片科技"),
    "M7340": ("医药科技", "生物医药技术"),
    "M7330": ("农业科技", "种业科技"),
    "M7512": ("生物技术", "生物科技"),
    "M7513": ("新材料科技", "新材料技术"),
    "M7514": ("节能技术", "节能科技"),
    "M7515": ("新能源科技", "新能源技术"),
    "M7516": ("环保科技", "环境技术"),
    "M7517": ("三维打印技术", "增材制造技术"),
    "M7520": ("知识产权服务", "知识产权代理"),
    "M7530": ("科技服务", "科技咨询"),
    "M7540": ("科技企业孵化器", "众创空间管理"),
    "C3491": ("机器人", "智能装备"),
    "C3493": ("增材制造", "三维打印科技"),
    "C3544": ("制药设备", "制药装备"),
    "C3562": ("半导体设备", "电子装备"),
    "C3581": ("医疗器械", "医疗科技", "医疗设备"),
    "C3584": ("医疗器械", "医用器械"),
    "C3591": ("环保设备", "环保科技"),
    "C3825": ("光伏科技", "新能源科技"),
    "C3841": ("电池科技", "新能源科技", "锂电科技"),
    "C3670": ("汽车零部件", "汽车配件", "汽车部件"),
    "C2929": ("塑料制品", "新材料", "塑胶制品"),
    "C3360": ("金属科技", "表面处理技术", "金属表面技术"),
    "C3743": ("航天科技", "航空科技"),
    "C1491": ("食品科技", "营养科技", "生物科技"),
    "D4416": ("光伏科技", "新能源", "光伏发电"),
    "F5177": ("通讯设备", "通信科贸"),
}

_GRADES = ("D", "C", "M", "B", "A")
_COUNT_FIELDS = tuple(
    f.code
    for f in YEARLY_FIELDS[1:]
    if f.kind in (Kind.INT, Kind.ENUM)
    and f.code
    not in ("class1_ip", "class2_ip", "tax_credit_grade", "staff_total", "tech_staff", "rd_staff")
)

# Codes whose firms file IC layout designs or plant varieties at all.
_IC_CODES = ("C3973", "C3972", "C3976", "I6520", "C3562")
_PLANT_CODES = ("C1491", "M7330", "M7512")
_MANUFACTURING_PREFIX = "C"

# USCC prefixes: 登记管理部门 + 机构类别 and their shares.
_ORG_TYPES: tuple[tuple[str, float], ...] = (
    ("91", 0.975),
    ("92", 0.01),
    ("52", 0.01),
    ("12", 0.005),
)


@cache
def _name_parts() -> dict:
    path = resources.files("innopoints.demo") / "data" / "name_parts.json"
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _groups(*keys: str) -> list[int]:
    """Indices of industry groups by key."""
    index = {group.key: i for i, group in enumerate(INDUSTRIES)}
    return [index[key] for key in keys]


def _flat_codes() -> tuple[list[str], np.ndarray, np.ndarray]:
    """All codes, their group index and their probability."""
    codes, groups, probs = [], [], []
    for gi, group in enumerate(INDUSTRIES):
        total = sum(w for _, w in group.codes)
        for code, w in group.codes:
            codes.append(code)
            groups.append(gi)
            probs.append(group.weight * w / total)
    p = np.asarray(probs)
    return codes, np.asarray(groups), p / p.sum()


# ---------------------------------------------------------------------------------------
# The zone
# ---------------------------------------------------------------------------------------


@dataclass
class DemoZone:
    """A generated zone: the four tables of the data standard."""

    enterprises: pl.DataFrame
    yearly: pl.DataFrame
    qualifications: pl.DataFrame
    negatives: pl.DataFrame

    def wide_panel(self) -> pl.DataFrame:
        """One row per uscc+year: enterprise fields, yearly fields, has_<qual>, neg_<type>.

        `has_<type>` is true when a qualification of that type is valid on 31 Dec of the
        year (valid_from ≤ 31 Dec ≤ valid_until, open end when valid_until is null);
        `neg_<type>` is true when a record occurred on or before 31 Dec and was not
        cleared by then (cleared_on null or after 31 Dec).
        """
        return wide_panel(self.enterprises, self.yearly, self.qualifications, self.negatives)


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))


def _money(x: np.ndarray) -> np.ndarray:
    return np.round(np.maximum(x, 0.0), 2)


def _year_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _encode(indices: np.ndarray) -> np.ndarray:
    """(n, k) array of indices into the USCC charset → n strings of length k."""
    table = np.frombuffer(USCC_CHARSET.encode("ascii"), dtype=np.uint8)
    return table[indices]


def _to_str(ascii_matrix: np.ndarray) -> pl.Series:
    n, k = ascii_matrix.shape
    raw = np.ascontiguousarray(ascii_matrix.astype(np.uint8)).view(f"S{k}").ravel()
    return pl.Series(raw).cast(pl.String)


def _digits(values: np.ndarray, base: int, width: int) -> np.ndarray:
    """Base-`base` digits of each value, most significant first, as an (n, width) array."""
    out = np.empty((values.shape[0], width), dtype=np.int64)
    v = values.astype(np.int64).copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = v % base
        v //= base
    return out


def _make_usccs(
    rng: np.random.Generator, prefixes: np.ndarray, region_code: str, reg_year: np.ndarray
) -> pl.Series:
    """Valid, unique USCCs: prefix + region + organisation code (GB 11714) + check char."""
    n = prefixes.shape[0]
    value = {ch: i for i, ch in enumerate(USCC_CHARSET)}
    head = np.empty((n, 8), dtype=np.int64)
    head[:, 0] = np.array([value[p[0]] for p in ("91", "92", "52", "12")])[prefixes]
    head[:, 1] = np.array([value[p[1]] for p in ("91", "92", "52", "12")])[prefixes]
    head[:, 2:8] = np.array([value[ch] for ch in region_code])
    # Organisation code: firms registered since 2016 get the new "MA" series, older ones
    # the old all-digit codes. Draw without replacement so every code is unique.
    new = reg_year >= 2016
    body = np.empty((n, 8), dtype=np.int64)
    n_new, n_old = int(new.sum()), int((~new).sum())
    new_idx = rng.choice(31**6, size=n_new, replace=False) if n_new else np.empty(0, np.int64)
    old_idx = rng.choice(90_000_000, size=n_old, replace=False) + 10_000_000
    body[new, 0] = value["M"]
    body[new, 1] = value["A"]
    body[new, 2:] = _digits(new_idx, 31, 6)
    body[~new] = _digits(old_idx, 10, 8)
    # GB 11714 check: weights 3 7 9 10 5 8 4 2, digits 0-9, letters A=10…Z=35.
    letters = np.array([int(ch) if ch.isdigit() else ord(ch) - 55 for ch in USCC_CHARSET])
    weights = np.array([3, 7, 9, 10, 5, 8, 4, 2])
    check = 11 - (letters[body] * weights).sum(axis=1) % 11
    check_idx = np.where(check == 11, 0, np.where(check == 10, value["X"], check))
    first17 = np.concatenate([head, body, check_idx[:, None]], axis=1)
    total = (first17 * np.asarray(USCC_WEIGHTS)).sum(axis=1)
    last = (31 - total % 31) % 31
    return _to_str(_encode(np.concatenate([first17, last[:, None]], axis=1)))


def _make_names(
    rng: np.random.Generator,
    region_code: str,
    code_idx: np.ndarray,
    org: np.ndarray,
    big: np.ndarray,
) -> pl.Series:
    """Unique Chinese company names: place + brand + industry word + legal form."""
    parts = _name_parts()
    brand_chars = pl.Series(list(parts["brand_chars"]))
    province = parts["provinces"].get(region_code[:2], "")
    city = parts["cities"].get(region_code) or parts["cities"].get(region_code[:4] + "00")
    city = city or province
    province_prefix = province if province not in ("北京", "天津", "上海", "重庆") else ""
    n = code_idx.shape[0]

    words: list[str] = []
    offsets, counts = [], []
    for group in INDUSTRIES:
        for code, _ in group.codes:
            choice = CODE_WORDS.get(code, group.words)
            offsets.append(len(words))
            counts.append(len(choice))
            words.extend(choice)
    off, cnt = np.asarray(offsets)[code_idx], np.asarray(counts)[code_idx]
    word_idx = off + (rng.random(n) * cnt).astype(np.int64)
    word = pl.Series(words).gather(pl.Series(word_idx))

    style = rng.random(n)  # 0.75 city prefix, 0.2 province prefix, 0.05 brand(city)
    suffix_roll = rng.random(n)
    suffix = np.where(
        big | (suffix_roll < 0.08),
        "股份有限公司",
        np.where(suffix_roll > 0.98, "有限责任公司", "有限公司"),
    )
    suffix = np.where(org == 2, "", suffix)  # 民办非企业单位 (research institutes)
    suffix = np.where(org == 3, "", suffix)  # 事业单位
    suffix = np.where(org == 1, "经营部", suffix)  # 个体工商户
    org_word = np.select([org == 2, org == 3], ["产业技术研究院", "研究所"], default="")
    frame = pl.DataFrame(
        {
            "style": style,
            "suffix": suffix,
            "word": word,
            "org_word": org_word,
            "org": org,
        }
    ).with_columns(
        pl.when(pl.col("org_word") != "").then(pl.col("org_word")).otherwise("word").alias("word")
    )

    names = pl.Series([""] * n)
    todo = np.arange(n)
    for attempt in range(30):
        m = todo.shape[0]
        length = np.where(rng.random(m) < (0.7 if attempt == 0 else 0.0), 2, 3)
        picks = [pl.Series(rng.integers(0, brand_chars.len(), m)) for _ in range(3)]
        c1, c2, c3 = (brand_chars.gather(p) for p in picks)
        brand = pl.select(
            pl.when(pl.lit(pl.Series(length)) == 2)
            .then(pl.concat_str([pl.lit(c1), pl.lit(c2)]))
            .otherwise(pl.concat_str([pl.lit(c1), pl.lit(c2), pl.lit(c3)]))
        ).to_series()
        sub = frame[todo].with_columns(brand=brand)
        built = sub.select(
            pl.when(pl.col("org") == 1)
            .then(pl.concat_str([pl.lit(city + "高新区"), "brand", "word", "suffix"]))
            .when(pl.col("style") < 0.75)
            .then(pl.concat_str([pl.lit(city), "brand", "word", "suffix"]))
            .when(pl.col("style") < 0.95)
            .then(pl.concat_str([pl.lit(province_prefix or city), "brand", "word", "suffix"]))
            .otherwise(pl.concat_str(["brand", pl.lit(f"（{city}）"), "word", "suffix"]))
        ).to_series()
        names = names.scatter(todo, built)
        dup = ~names.is_first_distinct()
        todo = np.flatnonzero(dup.to_numpy())
        if todo.shape[0] == 0:
            break
    else:  # practically unreachable: number what is still duplicated
        tail = pl.Series([f"（{i}）" for i in range(todo.shape[0])])
        names = names.scatter(todo, names.gather(pl.Series(todo)) + tail)
    return names


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


def generate_zone(
    enterprises: int = 2000,
    years: int = 4,
    seed: int = 1,
    zone_code: str = "SJZ-HTZ",
    last_year: int = 2025,
    region_code: str = "130100",
) -> DemoZone:
    """Generate a realistic synthetic zone of `enterprises` firms over `years` years."""
    if enterprises < 1 or years < 1:
        raise ValueError("enterprises and years must be at least 1")
    if region_problem(region_code) is not None:
        raise ValueError(f"region code {region_code!r} is not a GB/T 2260 code")
    rng = np.random.default_rng(seed)
    n, ny = enterprises, years
    first_year = last_year - ny + 1
    year_list = np.arange(first_year, last_year + 1)
    as_of = _days(date(last_year, 12, 31))
    dec31 = np.array([_days(date(int(y), 12, 31)) for y in year_list])

    # --- firm traits ---------------------------------------------------------------
    codes, code_group, code_p = _flat_codes()
    code_idx = rng.choice(len(codes), size=n, p=code_p)
    g = code_group[code_idx]
    gp = {
        attr: np.array([getattr(grp, attr) for grp in INDUSTRIES])[g]
        for attr in (
            "revenue",
            "revenue_per_staff",
            "rd_intensity",
            "tech_share",
            "high_tech_share",
            "invention",
            "utility",
            "design",
            "software",
            "export_prob",
            "asset_turnover",
        )
    }
    code_arr = np.array(codes)[code_idx]
    manufacturing = np.char.startswith(code_arr, _MANUFACTURING_PREFIX)
    z_size = rng.standard_normal(n)
    z_innov = 0.25 * z_size + np.sqrt(1 - 0.25**2) * rng.standard_normal(n)

    org_p = np.array([p for _, p in _ORG_TYPES])
    org = rng.choice(len(_ORG_TYPES), size=n, p=org_p / org_p.sum())

    # Age: many young firms, a tail to 25 years; nobody registered after 30 Sep of the
    # last year, so every firm has at least one yearly row.
    age = np.minimum(0.25 + rng.gamma(1.8, 4.5, n), 25.0)
    age = np.where(org == 3, np.minimum(age + 8, 25.0), age)
    latest = _days(date(last_year, 9, 30))
    reg_days = np.minimum(as_of - np.round(age * 365.25).astype(np.int64), latest)
    reg_year = _year_of(reg_days)
    age_at = (dec31[None, :] - reg_days[:, None]) / 365.25  # age on 31 Dec of each year

    # Rows: from the registration year on; ~1.5 % stop reporting; ~1 % skip a year.
    active = year_list[None, :] >= reg_year[:, None]
    stops = (rng.random(n) < 0.015) & (reg_year < last_year - 1)
    stop_year = np.maximum(reg_year, first_year) + (
        rng.random(n) * np.maximum(last_year - np.maximum(reg_year, first_year), 1)
    ).astype(np.int64)
    active &= ~(stops[:, None] & (year_list[None, :] > stop_year[:, None]))
    if ny >= 3:
        gap = np.flatnonzero((rng.random(n) < 0.01) & (active.sum(axis=1) >= 3))
        active[gap, rng.integers(1, ny - 1, gap.shape[0])] = False
    firms = _Firms(
        n,
        ny,
        last_year,
        year_list,
        dec31,
        g,
        gp,
        code_arr,
        manufacturing,
        z_size,
        z_innov,
        age,
        reg_days,
        reg_year,
        age_at,
        active,
    )
    del age_at

    yearly, traits = _draw_yearly(rng, firms)

    # --- qualifications --------------------------------------------------------------
    y = yearly
    m = _Matrices(
        revenue=y["revenue"],
        rd=y["rd_expense"],
        rd_domestic=y["rd_expense_domestic"],
        staff=y["staff_total"],
        tech_staff=y["tech_staff"],
        high_tech_revenue=y["high_tech_revenue"],
        main_revenue=y["main_revenue"],
        total_cost=y["total_cost"],
        assets=y["total_assets"],
        liabilities=y["total_liabilities"],
        class1=y["invention_patents"] + y["ic_layouts"] + y["plant_varieties"],
        class2=y["utility_patents"] + y["design_patents"] + y["software_copyrights"],
        inst=y["rd_institution_level"],
        market_share=y["market_share_national"],
        active=active,
    )
    niche_years = traits["niche_years"]
    quals = _qualifications(rng, m, year_list, reg_days, niche_years, traits["growth"], last_year)
    del m, y

    # --- negative records ----------------------------------------------------------------
    negatives = _negatives(rng, n, reg_days, z_innov, traits["decliner"], first_year, as_of)
    serious = negatives.filter(pl.col("type") == "serious_dishonesty")
    if serious.height:
        idx = serious["firm"].to_numpy()
        occ = serious["occurred_on"].cast(pl.Int64).to_numpy()
        clr = serious["cleared_on"].cast(pl.Int64).fill_null(10**9).to_numpy()
        hit = (occ[:, None] <= dec31[None, :]) & (clr[:, None] > dec31[None, :])
        rows, cols = np.nonzero(hit)
        yearly["tax_credit_grade"][idx[rows], cols] = 0

    _edge_cases(rng, yearly, active)
    _enforce_consistency(yearly)
    _punch_holes(rng, yearly)

    # --- frames ----------------------------------------------------------------------
    usccs = _make_usccs(rng, org, region_code, reg_year)
    listing_score = z_size + 0.3 * z_innov + 0.5 * rng.standard_normal(n)
    order = np.argsort(-listing_score)
    listing = np.zeros(n, dtype=np.int64)
    eligible_listed = (age >= 5) & (org == 0)
    listed_n, reserve_n = max(int(n * 0.008), 1), int(n * 0.04)
    ranked = order[eligible_listed[order]]
    listing[ranked[:listed_n]] = 2
    listing[ranked[listed_n : listed_n + reserve_n]] = 1
    listing = np.where(org == 0, listing, 0)
    names = _make_names(rng, region_code, code_idx, org, listing == 2)
    enterprises_df = pl.DataFrame(
        {
            "uscc": usccs,
            "name": names,
            "zone": pl.repeat(zone_code, n, dtype=pl.String, eager=True),
            "industry_code": pl.Series(codes).gather(pl.Series(code_idx)),
            "region_code": pl.repeat(region_code, n, dtype=pl.String, eager=True),
            "registered_on": pl.Series(reg_days.astype(np.int32)).cast(pl.Date),
            "registered_capital": pl.Series(
                np.where((rng.random(n) < 0.02) | (org == 1), np.nan, traits["registered_capital"])
            ),
            "listing_status": pl.Series(["none", "reserve", "listed"]).gather(pl.Series(listing)),
            "niche_years": pl.Series(np.where(rng.random(n) < 0.10, np.nan, niche_years)),
        }
    ).with_columns(pl.col("registered_capital", "niche_years").fill_nan(None))

    rows, cols = np.nonzero(active)
    columns: dict[str, pl.Series] = {
        "uscc": usccs.gather(pl.Series(rows)),
        "year": pl.Series(year_list[cols].astype(np.int64)),
    }
    del rows, cols
    for f in YEARLY_FIELDS[1:]:
        values = yearly.pop(f.code)
        if values is None:
            columns[f.code] = pl.repeat(None, int(active.sum()), dtype=f.polars_dtype, eager=True)
            columns[f.code] = columns[f.code].alias(f.code)
            continue
        flat = pl.Series(f.code, values[active], nan_to_null=True)
        del values
        if f.kind == Kind.ENUM:
            choices = list(_GRADES) if f.code == "tax_credit_grade" else list(f.choices)
            columns[f.code] = pl.Series(choices).gather(flat.cast(pl.Int64)).alias(f.code)
        else:
            columns[f.code] = flat.cast(f.polars_dtype)
    yearly_df = pl.DataFrame(columns)

    neg_df = negatives.sort("firm", "occurred_on").select(
        pl.lit(usccs).gather(pl.col("firm")).alias("uscc"),
        "type",
        "occurred_on",
        "cleared_on",
    )
    quals_df = _without_barred_tech_sme(_qual_frame(quals, usccs), neg_df)
    return DemoZone(enterprises_df, yearly_df, quals_df, neg_df)


def _without_barred_tech_sme(quals: pl.DataFrame, negatives: pl.DataFrame) -> pl.DataFrame:
    """Drop 科技型中小企业 registrations made while a barring negative record was active."""
    barring = negatives.filter(pl.col("type") != "research_misconduct")
    barred = (
        quals.filter(pl.col("type") == "tech_sme")
        .join(barring.select("uscc", "occurred_on", "cleared_on"), on="uscc")
        .filter(
            (pl.col("occurred_on") <= pl.col("valid_from"))
            & (pl.col("cleared_on").is_null() | (pl.col("cleared_on") > pl.col("valid_from")))
        )
        .select("uscc", "certificate_no")
        .unique()
    )
    return quals.join(barred, on=["uscc", "certificate_no"], how="anti", maintain_order="left")


@dataclass
class _Firms:
    """Firm-level traits the yearly draws depend on."""

    n: int
    ny: int
    last_year: int
    year_list: np.ndarray
    dec31: np.ndarray
    g: np.ndarray
    gp: dict[str, np.ndarray]
    code_arr: np.ndarray
    manufacturing: np.ndarray
    z_size: np.ndarray
    z_innov: np.ndarray
    age: np.ndarray
    reg_days: np.ndarray
    reg_year: np.ndarray
    age_at: np.ndarray
    active: np.ndarray


def _draw_yearly(
    rng: np.random.Generator, t: _Firms
) -> tuple[dict[str, np.ndarray | None], dict[str, np.ndarray]]:
    """Every yearly field as an (enterprises × years) matrix, plus firm-level draws."""
    n, ny, last_year, year_list, dec31 = t.n, t.ny, t.last_year, t.year_list, t.dec31
    g, gp, code_arr, manufacturing = t.g, t.gp, t.code_arr, t.manufacturing
    z_size, z_innov, age, age_at, active = t.z_size, t.z_innov, t.age, t.age_at, t.active
    reg_days, reg_year = t.reg_days, t.reg_year

    # --- revenue and growth ----------------------------------------------------------
    decliner = rng.random(n) < 0.15
    growth = np.where(
        decliner,
        rng.normal(-0.10, 0.08, n),
        rng.normal(0.07 + 0.35 * np.exp(-age / 3.0), 0.15, n),
    )
    log_rev_last = np.log(gp["revenue"]) + 0.7 * (np.log1p(age) - np.log1p(8.0)) + 1.35 * z_size
    rev_last = np.exp(log_rev_last)
    since = (last_year - year_list)[None, :]
    revenue = rev_last[:, None] * np.exp(
        -growth[:, None] * since + 0.10 * rng.standard_normal((n, ny))
    )
    founding = year_list[None, :] == reg_year[:, None]
    frac = np.clip((dec31[None, :] - reg_days[:, None]) / 365.0, 0.05, 1.0)
    revenue = np.where(founding, revenue * frac * rng.uniform(0.2, 0.9, (n, ny)), revenue)
    pre_revenue = (
        rng.random(n) < 0.03 * np.where(np.isin(g, _groups("research", "pharma")), 3.0, 1.0)
    ) & (age < 6)
    revenue = np.where(pre_revenue[:, None], 0.0, revenue)
    revenue = np.where(founding & (rng.random((n, ny)) < 0.35), 0.0, revenue)
    revenue = _money(revenue)

    # --- staff ---------------------------------------------------------------------
    rps = gp["revenue_per_staff"] * np.exp(0.4 * rng.standard_normal(n))
    staff_last = 3 + rev_last / rps
    ratio = np.where(rev_last[:, None] > 0, revenue / rev_last[:, None], 0.0)
    staff = np.where(
        revenue > 0,
        staff_last[:, None] * np.power(np.maximum(ratio, 1e-6), 0.6),
        np.exp(np.log(10) + 0.6 * rng.standard_normal((n, 1))) * np.exp(-0.1 * since),
    ) * np.exp(0.05 * rng.standard_normal((n, ny)))
    staff = np.maximum(np.round(staff), 1.0)

    tech_share_f = _sigmoid(
        _logit(gp["tech_share"]) + 0.75 * z_innov + 0.35 * rng.standard_normal(n)
    )
    tech_share = np.clip(tech_share_f[:, None] + 0.02 * rng.standard_normal((n, ny)), 0, 1)
    tech_staff = np.minimum(np.floor(tech_share * staff + rng.random((n, ny))), staff)
    rd_share = rng.beta(6, 3, n)
    rd_staff = np.minimum(np.floor(tech_staff * rd_share[:, None] + rng.random((n, ny))), staff)

    # --- R&D -----------------------------------------------------------------------
    rdi_f = gp["rd_intensity"] * np.exp(
        0.55 * z_innov + 0.30 * rng.standard_normal(n) - 0.08 * (np.log1p(rev_last) - 7.0)
    )
    no_rd = rng.random(n) < np.where(
        np.isin(g, _groups("other_manufacturing", "trade")), 0.25, 0.04
    )
    rdi_f = np.where(no_rd, 0.0, rdi_f)
    rdi = np.clip(rdi_f[:, None] * np.exp(0.15 * rng.standard_normal((n, ny))), 0, 1.5)
    rd = np.where(
        revenue > 0,
        revenue * rdi,
        staff * rng.uniform(8, 25, (n, ny)) * (rdi_f[:, None] > 0),
    )
    rd = _money(rd)
    dom_roll = rng.random(n)
    dom_share = np.where(
        dom_roll < 0.55,
        1.0,
        np.where(dom_roll < 0.96, rng.uniform(0.6, 1.0, n), rng.uniform(0.2, 0.6, n)),
    )
    rd_domestic = np.minimum(_money(rd * dom_share[:, None]), rd)
    deduct_rate = np.where((year_list[None, :] >= 2023) | manufacturing[:, None], 1.0, 0.75)
    claims = rng.random(n) < 0.85
    rd_deduction = _money(rd * deduct_rate * rng.uniform(0.75, 1.0, (n, 1)) * claims[:, None])

    # --- costs, profit, tax, balance sheet -----------------------------------------
    margin = (
        rng.normal(0.07, 0.09, n)[:, None]
        - 0.10 * np.exp(-age_at / 2.0)
        + 0.05 * rng.standard_normal((n, ny))
    )
    total_cost = np.where(
        revenue > 0,
        np.maximum(revenue * (1 - margin), rd * rng.uniform(1.1, 1.6, (n, ny))),
        rd * 1.15 + staff * rng.uniform(8, 15, (n, ny)),
    )
    total_cost = _money(total_cost)
    pre_tax = revenue - total_cost
    net_profit = np.round(np.where(pre_tax > 0, pre_tax * 0.85, pre_tax), 2)
    tax_paid = _money(revenue * rng.uniform(0.015, 0.06, (n, 1)) + np.maximum(net_profit, 0) * 0.15)

    cap_raw = np.exp(np.log(300) + 0.6 * z_size + 0.8 * rng.standard_normal(n))
    nice = np.array(
        [10, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000, 20000, 50000.0]
    )
    nearest = nice[np.abs(np.log(nice)[None, :] - np.log(cap_raw)[:, None]).argmin(axis=1)]
    registered_capital = np.where(rng.random(n) < 0.7, nearest, np.round(cap_raw, 2))

    turnover = gp["asset_turnover"] * np.exp(0.4 * rng.standard_normal(n))
    assets = np.where(
        revenue > 0,
        revenue * turnover[:, None],
        registered_capital[:, None] * rng.uniform(0.3, 1.2, (n, ny)) + rd,
    ) * np.exp(0.05 * rng.standard_normal((n, ny)))
    assets = np.maximum(_money(assets), 1.0)
    insolvent = rng.random(n) < 0.015
    debt_f = np.where(insolvent, rng.uniform(1.0, 1.4, n), rng.beta(2.2, 3.2, n))
    debt = np.clip(debt_f[:, None] + 0.04 * rng.standard_normal((n, ny)), 0.01, 1.6)
    liabilities = _money(assets * debt)

    main_f = np.where(rng.random(n) < 0.35, 1.0, rng.beta(14, 1.6, n))
    main_share = np.where(
        main_f[:, None] >= 1.0,
        1.0,
        np.clip(main_f[:, None] + 0.02 * rng.standard_normal((n, ny)), 0.3, 1.0),
    )
    main_revenue = np.minimum(_money(revenue * main_share), revenue)
    ht_f = _sigmoid(_logit(gp["high_tech_share"]) + 1.1 * z_innov + 0.6 * rng.standard_normal(n))
    ht_f = np.where((rng.random(n) < 0.10) & (z_innov < 0), 0.0, ht_f)
    ht_share = np.clip(ht_f[:, None] + 0.04 * rng.standard_normal((n, ny)), 0, 1)
    ht_share = np.where(ht_f[:, None] == 0, 0.0, ht_share)
    high_tech_revenue = np.minimum(_money(revenue * ht_share), revenue)
    exports = rng.random(n) < gp["export_prob"] * np.clip(1 + 0.3 * z_size, 0.3, 1.8)
    export_f = np.where(exports, rng.beta(1.3, 4.0, n), 0.0)
    export_share = np.clip(export_f[:, None] * np.exp(0.2 * rng.standard_normal((n, ny))), 0, 0.95)
    export_revenue = np.minimum(_money(revenue * export_share), revenue)

    # --- IP and innovation outputs ----------------------------------------------------
    rd_level = np.log1p(np.nanmean(np.where(active, rd, np.nan), axis=1))
    rd_level = np.nan_to_num(rd_level)
    stock_age = np.clip(age, 0.3, 12.0) / 6.0
    firm_noise = rng.standard_normal((4, n))
    lam_inv = np.exp(gp["invention"] + 0.45 * rd_level + 0.6 * z_innov + 0.5 * firm_noise[0])
    lam_util = np.exp(gp["utility"] + 0.40 * rd_level + 0.3 * z_innov + 0.6 * firm_noise[1])
    lam_design = np.exp(gp["design"] + 0.30 * rd_level + 0.8 * firm_noise[2])
    lam_soft = np.exp(gp["software"] + 0.45 * rd_level + 0.4 * z_innov + 0.6 * firm_noise[3])
    ic_codes = np.isin(code_arr, _IC_CODES)
    lam_ic = np.where(ic_codes, np.exp(0.5 + 0.5 * z_innov), 0.01)
    lam_plant = np.where(np.isin(code_arr, _PLANT_CODES), 0.4 * np.exp(0.5 * z_innov), 0.0)
    standards_rate = np.exp(-3.0 + 0.5 * z_size + 0.5 * z_innov)

    def stock(lam: np.ndarray) -> np.ndarray:
        """A count stock that accumulates over the years (granted minus lapsed)."""
        out = np.zeros((n, ny))
        out[:, -1] = rng.poisson(lam * stock_age)
        for j in range(ny - 2, -1, -1):
            q = np.clip(1.3 / np.maximum(age_at[:, j + 1] + 1.0, 0.1), 0.06, 0.9)
            nxt = out[:, j + 1]
            out[:, j] = nxt
            some = np.flatnonzero(nxt > 0)
            out[some, j] -= rng.binomial(nxt[some].astype(np.int64), q[some])
        return out

    invention = stock(lam_inv)
    utility = stock(lam_util)
    design = stock(lam_design)
    software = stock(lam_soft)
    ic_layouts = stock(lam_ic)
    plant_varieties = stock(lam_plant)
    standards_led = stock(standards_rate)
    year_noise = np.exp(0.3 * rng.standard_normal((n, ny)))
    invention_applications = rng.poisson(lam_inv[:, None] * 0.35 * year_noise).astype(float)
    pct = rng.poisson(lam_inv[:, None] * 0.03 * (1 + 5 * export_f[:, None]) * year_noise).astype(
        float
    )
    high_level_talent = rng.poisson(
        np.exp(-2.2 + 0.6 * z_innov[:, None] + 0.4 * np.log1p(staff))
    ).astype(float)
    tech_transfers = rng.poisson(
        np.exp(-1.6 + 0.5 * z_innov[:, None] + 0.3 * np.log1p(invention + utility))
    ).astype(float)
    services = np.isin(g, _groups("research", "tech_services", "professional"))
    contracts = (tech_transfers > 0) | (services[:, None] & (rng.random((n, ny)) < 0.5))
    tech_contract_amount = _money(
        np.where(
            contracts,
            np.exp(
                np.log(60)
                + 0.4 * np.log1p(tech_transfers)
                + 0.8 * services[:, None]
                + 1.0 * rng.standard_normal((n, ny))
            ),
            0.0,
        )
    )
    gov_projects = rng.poisson(
        np.exp(-2.6 + 0.7 * z_innov + 0.3 * z_size)[:, None] * np.ones((1, ny))
    ).astype(float)

    inst_score = 0.9 * z_innov + 0.5 * z_size + 0.5 * rng.standard_normal(n)
    inst = np.digitize(inst_score, [0.45, 1.25, 2.1]).astype(float)
    inst_m = np.zeros((n, ny))
    inst_m[:, -1] = inst
    for j in range(ny - 2, -1, -1):
        inst_m[:, j] = np.maximum(inst_m[:, j + 1] - (rng.random(n) < 0.12), 0)
    award_score = (0.7 * z_innov + 0.4 * z_size)[:, None] + rng.standard_normal((n, ny))
    award = np.digitize(award_score, [2.0, 2.6, 3.4]).astype(float)

    young = (age_at < 6).astype(float)
    p_equity = _sigmoid(-3.4 + 0.8 * z_innov[:, None] + 0.8 * young + 0.3 * z_size[:, None])
    equity_financing = _money(
        np.where(
            rng.random((n, ny)) < p_equity,
            np.exp(np.log(1500) + 0.4 * z_size[:, None] + 1.2 * rng.standard_normal((n, ny))),
            0.0,
        )
    )

    grade_f = rng.choice(5, size=n, p=[0.02, 0.04, 0.10, 0.42, 0.42])
    grade = np.where(
        rng.random((n, ny)) < 0.8,
        grade_f[:, None],
        rng.choice(5, (n, ny), p=[0.01, 0.03, 0.06, 0.45, 0.45]),
    )
    grade = np.where(age_at < 1.5, 2, grade)  # new firms are graded M

    share_f = np.exp(np.log(0.003) + 0.8 * z_innov + 0.5 * z_size + 1.3 * rng.standard_normal(n))
    market_share = np.clip(
        share_f[:, None] * np.exp(0.1 * rng.standard_normal((n, ny))), 0, 1
    ).round(4)

    niche_years = np.floor(age * rng.uniform(0.3, 1.0, n))

    yearly = {
        "revenue": revenue,
        "main_revenue": main_revenue,
        "high_tech_revenue": high_tech_revenue,
        "net_profit": net_profit,
        "total_assets": assets,
        "total_liabilities": liabilities,
        "net_assets": None,
        "total_cost": total_cost,
        "tax_paid": tax_paid,
        "rd_expense": rd,
        "rd_expense_domestic": rd_domestic,
        "rd_deduction": rd_deduction,
        "staff_total": staff,
        "tech_staff": tech_staff,
        "rd_staff": rd_staff,
        "high_level_talent": high_level_talent,
        "invention_patents": invention,
        "utility_patents": utility,
        "design_patents": design,
        "software_copyrights": software,
        "ic_layouts": ic_layouts,
        "plant_varieties": plant_varieties,
        "pct_applications": pct,
        "invention_applications": invention_applications,
        "class1_ip": None,
        "class2_ip": None,
        "tech_transfers": tech_transfers,
        "tech_contract_amount": tech_contract_amount,
        "standards_led": standards_led,
        "rd_institution_level": inst_m,
        "gov_projects": gov_projects,
        "equity_financing": equity_financing,
        "award_level": award,
        "export_revenue": export_revenue,
        "market_share_national": market_share,
        "tax_credit_grade": grade.astype(np.float32),
    }
    for code in _COUNT_FIELDS:
        yearly[code] = yearly[code].astype(np.float32)
    traits = {
        "growth": growth,
        "decliner": decliner,
        "niche_years": niche_years,
        "registered_capital": registered_capital,
    }
    return yearly, traits


@dataclass
class _Matrices:
    revenue: np.ndarray
    rd: np.ndarray
    rd_domestic: np.ndarray
    staff: np.ndarray
    tech_staff: np.ndarray
    high_tech_revenue: np.ndarray
    main_revenue: np.ndarray
    total_cost: np.ndarray
    assets: np.ndarray
    liabilities: np.ndarray
    class1: np.ndarray
    class2: np.ndarray
    inst: np.ndarray
    market_share: np.ndarray
    active: np.ndarray


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _qualifications(
    rng: np.random.Generator,
    m: _Matrices,
    year_list: np.ndarray,
    reg_days: np.ndarray,
    niche_years: np.ndarray,
    growth_f: np.ndarray,
    last_year: int,
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Simulate applications year by year; return (type, firm, year, valid_from days)."""
    n, ny = m.revenue.shape
    first_year = int(year_list[0])
    nan = np.nan
    rev = np.where(m.active, m.revenue, nan)
    rd = np.where(m.active, m.rd, nan)
    rdi = _ratio(rd, rev)
    rd3 = np.full((n, ny), nan)
    for j in range(ny):
        lo = max(0, j - 2)
        s_rd = rd[:, lo : j + 1].sum(axis=1)
        s_rev = rev[:, lo : j + 1].sum(axis=1)
        rd3[:, j] = _ratio(s_rd, s_rev)
    tsr = _ratio(m.tech_staff, m.staff)
    htr = _ratio(m.high_tech_revenue, rev)
    dom = np.where(rd > 0, _ratio(m.rd_domestic, rd), 1.0)
    ip = m.class1 + m.class2
    threshold = np.where(rev <= 5000, 0.05, np.where(rev <= 20000, 0.04, 0.03))
    checks = [tsr >= 0.1, rd3 >= threshold, dom >= 0.6, htr >= 0.6, ip >= 1]
    fails = sum((~c).astype(np.int64) for c in checks)
    ht_meet = fails == 0
    # 科技型中小企业 score
    ts = np.select(
        [tsr >= 0.3, tsr >= 0.25, tsr >= 0.2, tsr >= 0.15, tsr >= 0.1], [20, 16, 12, 8, 4], 0
    )
    rdc = _ratio(rd, m.total_cost)
    rd_a = np.select(
        [rdi >= 0.06, rdi >= 0.05, rdi >= 0.04, rdi >= 0.03, rdi >= 0.02], [50, 40, 30, 20, 10], 0
    )
    rd_b = np.select(
        [rdc >= 0.3, rdc >= 0.25, rdc >= 0.2, rdc >= 0.15, rdc >= 0.1], [50, 40, 30, 20, 10], 0
    )
    ipsc = np.where(
        m.class1 >= 1,
        30,
        np.select([m.class2 >= 4, m.class2 == 3, m.class2 == 2, m.class2 == 1], [24, 18, 12, 6], 0),
    )
    sme_score = ts + np.maximum(rd_a, rd_b) + ipsc
    sme_size = (m.staff <= 500) & (rev <= 20000) & (m.assets <= 20000)
    debt = _ratio(m.liabilities, m.assets)
    main_share = _ratio(m.main_revenue, rev)

    def col(c: int) -> int:
        """Data column an application in year c is judged on (the year before, clamped)."""
        return int(np.clip(c - 1 - first_year, 0, ny - 1))

    def registered_by(c: int, years_before: float) -> np.ndarray:
        return reg_days <= _days(date(c, 1, 1)) - int(years_before * 365)

    out: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    def issue(kind: str, mask: np.ndarray, c: int, month_lo: int, span_days: int) -> None:
        firms = np.flatnonzero(mask)
        start = _days(date(c, month_lo, 1))
        vf = start + (rng.random(firms.shape[0]) * span_days).astype(np.int64)
        vf = np.maximum(vf, reg_days[firms] + 30)
        out.append((kind, firms, np.full(firms.shape[0], c), vf))

    history = range(first_year - 3, last_year + 1)
    ht_last = np.full(n, -9999)
    ht_hold: dict[int, np.ndarray] = {}
    for c in history:
        j = col(c)
        renew = ht_last == c - 3
        can = ~((ht_last >= c - 2) & (ht_last <= c - 1)) & registered_by(c, 1.0) & m.active[:, j]
        p = np.where(
            ht_meet[:, j],
            np.where(renew, 0.9, 0.5),
            np.where(fails[:, j] == 1, np.where(renew, 0.12, 0.04), 0.005),
        )
        got = can & (rng.random(n) < p)
        issue("high_tech", got, c, 10, 70)
        ht_last = np.where(got, c, ht_last)
        ht_hold[c] = (ht_last >= c - 2) & (ht_last <= c)

    # Three-year qualifications judged on the year before.
    def three_year(kind: str, meet_fn, p_yes: float, p_no: float, month: int, span: int) -> dict:
        last = np.full(n, -9999)
        hold: dict[int, np.ndarray] = {}
        for c in range(first_year - 2, last_year + 1):
            j = col(c)
            can = ~((last >= c - 2) & (last <= c - 1)) & registered_by(c, 1.0) & m.active[:, j]
            meet = meet_fn(c, j)
            got = can & (rng.random(n) < np.where(meet, p_yes, p_no))
            issue(kind, got, c, month, span)
            last = np.where(got, c, last)
            hold[c] = (last >= c - 2) & (last <= c)
        return hold

    def ht_at(c: int) -> np.ndarray:
        return ht_hold.get(c, np.zeros(n, dtype=bool))

    innov_sme = three_year(
        "innovative_sme",
        lambda c, j: (
            (m.staff[:, j] < 1000)
            & (rev[:, j] < 40000)
            & (
                ht_at(c - 1)
                | (
                    (rdi[:, j] >= 0.03)
                    & (ip[:, j] >= 1)
                    & (main_share[:, j] >= 0.6)
                    & (debt[:, j] < 0.75)
                )
            )
        ),
        0.15,
        0.003,
        6,
        120,
    )
    srdi = three_year(
        "srdi_sme",
        lambda c, j: (
            (niche_years >= 2 + (last_year - c))
            & (rd[:, j] >= 100)
            & (rdi[:, j] >= 0.03)
            & (rev[:, j] >= 1000)
            & (innov_sme.get(c - 1, np.zeros(n, bool)) | ht_at(c - 1))
        ),
        0.2,
        0.002,
        7,
        120,
    )

    def giant(c: int, j: int) -> np.ndarray:
        r = rev[:, j]
        intensity_ok = ((r >= 10000) & (rdi[:, j] >= 0.03)) | (
            (r >= 5000) & (r < 10000) & (rdi[:, j] >= 0.06)
        )
        return (
            srdi.get(c - 1, np.zeros(n, bool))
            & (niche_years >= 3 + (last_year - c))
            & (main_share[:, j] >= 0.7)
            & (debt[:, j] <= 0.7)
            & (m.market_share[:, j] >= 0.1)
            & (m.class1[:, j] >= 2)
            & intensity_ok
        )

    three_year("little_giant", giant, 0.5, 0.0005, 7, 60)
    three_year(
        "tech_leader",
        lambda c, j: (
            ht_at(c - 1) & (rev[:, j] >= 50000) & (rdi[:, j] >= 0.03) & (m.inst[:, j] >= 2)
        ),
        0.3,
        0.0002,
        9,
        60,
    )

    for c in range(first_year, last_year + 1):
        j = col(c)
        # 科技型中小企业: yearly, judged on last year's data; valid to 31 Dec.
        direct = ht_at(c - 1) | (m.inst[:, j] >= 2)
        eligible = sme_size[:, j] & (((sme_score[:, j] >= 60) & (ts[:, j] > 0)) | direct)
        near = sme_size[:, j] & (sme_score[:, j] >= 50)
        p = np.where(eligible, 0.8, np.where(near, 0.05, 0.004))
        got = registered_by(c, 0.0) & m.active[:, j] & (rng.random(n) < p)
        issue("tech_sme", got, c, 3, 180)
        # 瞪羚: holds 高企, revenue ≥ 1000万, 3-year CAGR ≥ 20 %, last growth > 0.
        j0 = max(j - 3, 0)
        span = max(j - j0, 1)
        trend = np.exp(growth_f) - 1  # before the window: the firm's underlying growth
        cagr = np.power(np.maximum(_ratio(rev[:, j], rev[:, j0]), 0), 1.0 / span) - 1
        cagr = cagr if j > j0 else trend
        growth = _ratio(rev[:, j], rev[:, j - 1]) - 1 if j > 0 else trend
        meet = ht_at(c - 1) & (rev[:, j] >= 1000) & (cagr >= 0.2) & (growth > 0)
        p = np.where(meet, 0.7, np.where(ht_at(c - 1) & (cagr >= 0.12), 0.02, 0.0))
        got = m.active[:, j] & (rng.random(n) < p)
        issue("gazelle", got, c, 7, 60)
    return out


_VALIDITY = {  # how long a certificate lasts (科技型中小企业: to 31 Dec of its year)
    "tech_sme": "0y",
    "high_tech": "3y",
    "innovative_sme": "3y",
    "srdi_sme": "3y",
    "little_giant": "3y",
    "tech_leader": "3y",
    "gazelle": "1y",
}
_CERT_PREFIX = {
    "high_tech": "GR",
    "tech_sme": "",
    "innovative_sme": "CX",
    "srdi_sme": "ZJTX",
    "little_giant": "XJR",
    "gazelle": "DL",
    "tech_leader": "LJ",
}


def _qual_frame(
    quals: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], usccs: pl.Series
) -> pl.DataFrame:
    """The qualification table from the issued certificates (in enterprise order)."""
    kinds = list(QUALIFICATION_TYPES)
    empty = np.empty(0, dtype=np.int64)
    firm = np.concatenate([f for _, f, _, _ in quals] or [empty]).astype(np.int64)
    kind = np.concatenate([np.full(f.shape[0], kinds.index(k)) for k, f, _, _ in quals] or [empty])
    year = np.concatenate([y for _, _, y, _ in quals] or [empty]).astype(np.int64)
    vf = np.concatenate([v for _, _, _, v in quals] or [empty]).astype("datetime64[D]")
    # Valid until the day before the same date k years on (28 Feb for a 29 Feb start).
    month = vf.astype("datetime64[M]")
    day = vf - month.astype("datetime64[D]")
    months = np.array([0 if k == "tech_sme" else 12 * int(_VALIDITY[k][0]) for k in kinds])
    vu = (month + months[kind]).astype("datetime64[D]") + day - np.timedelta64(1, "D")
    year_end = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.timedelta64(
        364, "D"
    )
    year_end = year_end + ((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0)))
    vu = np.where(np.asarray(kinds)[kind] == "tech_sme", year_end, vu)
    order = np.lexsort((vf, kind, firm))
    firm, kind, year, vf, vu = firm[order], kind[order], year[order], vf[order], vu[order]
    frame = pl.DataFrame(
        {
            "firm": firm,
            "type": pl.Series(kinds).gather(pl.Series(kind)),
            "year": year,
            "valid_from": pl.Series(vf.astype(np.int64).astype(np.int32)).cast(pl.Date),
            "valid_until": pl.Series(vu.astype(np.int64).astype(np.int32)).cast(pl.Date),
        }
    )
    uscc = usccs.gather(pl.Series(firm))
    seq = (pl.int_range(pl.len()).over("type", "year") + 1).cast(pl.String)
    year_s = pl.col("year").cast(pl.String)
    cert = (
        pl.when(pl.col("type") == "high_tech")
        .then(pl.concat_str(pl.lit("GR"), year_s, pl.col("uscc").str.slice(2, 2), seq.str.zfill(6)))
        .when(pl.col("type") == "tech_sme")
        .then(pl.concat_str(year_s, pl.col("uscc").str.slice(2, 6), seq.str.zfill(8)))
        .otherwise(
            pl.concat_str(
                pl.col("type").replace_strict(_CERT_PREFIX, default=""),
                year_s,
                pl.col("uscc").str.slice(2, 2),
                seq.str.zfill(5),
            )
        )
    )
    return frame.with_columns(uscc=uscc).select(
        "uscc", "type", cert.alias("certificate_no"), "valid_from", "valid_until"
    )


_NEG_SHARES = {
    "abnormal_operation": 0.70,
    "serious_dishonesty": 0.14,
    "major_incident": 0.10,
    "research_misconduct": 0.06,
}


def _negatives(
    rng: np.random.Generator,
    n: int,
    reg_days: np.ndarray,
    z_innov: np.ndarray,
    decliner: np.ndarray,
    first_year: int,
    as_of: int,
) -> pl.DataFrame:
    """About 1.5 % of firms get a negative record (a tenth of them two)."""
    k = max(int(round(n * 0.015)), 1 if n >= 50 else 0)
    weight = np.exp(-0.5 * z_innov + 1.0 * decliner)
    firms = rng.choice(n, size=k, replace=False, p=weight / weight.sum()) if k else np.empty(0, int)
    firms = np.concatenate([firms, firms[rng.random(k) < 0.1]])
    m = firms.shape[0]
    kinds = list(_NEG_SHARES)
    kind = rng.choice(len(kinds), size=m, p=np.array(list(_NEG_SHARES.values())))
    lo = np.maximum(reg_days[firms] + 60, _days(date(first_year - 2, 1, 1)))
    occurred = np.minimum(lo + (rng.random(m) * np.maximum(as_of - lo, 1)).astype(np.int64), as_of)
    clear_p = np.array([0.75, 0.45, 0.6, 0.3])[kind]
    delay = np.select(
        [kind == 0, kind == 1, kind == 2],
        [rng.integers(30, 400, m), rng.integers(365, 3 * 365, m), np.full(m, 366)],
        rng.integers(2 * 365, 5 * 365, m),
    )
    cleared = np.where(rng.random(m) < clear_p, occurred + delay, -1)
    cleared = np.where(cleared > as_of, -1, cleared)
    return pl.DataFrame(
        {
            "firm": firms.astype(np.int64),
            "type": pl.Series(kinds).gather(pl.Series(kind)),
            "occurred_on": pl.Series(occurred.astype(np.int32)).cast(pl.Date),
            "cleared_on": pl.Series(
                np.where(cleared < 0, None, cleared).tolist(), dtype=pl.Int32
            ).cast(pl.Date),
        }
    )


_MONEY_PARTS = ("main_revenue", "high_tech_revenue", "export_revenue")


def _edge_cases(rng: np.random.Generator, y: dict, active: np.ndarray) -> None:
    """Put a handful of last-year rows exactly on rule thresholds (integer amounts, exact ratios)."""
    rev, staff = y["revenue"][:, -1], y["staff_total"][:, -1]
    ok = active[:, -1] & (rev >= 100) & (staff >= 20)
    pool = np.flatnonzero(ok)
    if pool.shape[0] < 16:
        return
    per_kind = max(2, pool.shape[0] // 500)
    chosen = rng.choice(pool, size=min(pool.shape[0], per_kind * 8), replace=False)
    groups = np.array_split(chosen, 8)

    def scale_money(rows: np.ndarray, factor: np.ndarray) -> None:
        for f in (
            "revenue",
            *_MONEY_PARTS,
            "net_profit",
            "total_assets",
            "total_liabilities",
            "total_cost",
            "tax_paid",
            "rd_expense",
            "rd_expense_domestic",
            "rd_deduction",
        ):
            y[f][rows, -1] = np.round(y[f][rows, -1] * factor, 2)

    # 0: tech staff exactly 10 % of staff
    r = groups[0]
    y["staff_total"][r, -1] = np.maximum(np.round(y["staff_total"][r, -1] / 10) * 10, 20)
    y["tech_staff"][r, -1] = y["staff_total"][r, -1] / 10
    # 1: R&D intensity exactly 5 %
    r = groups[1]
    y["revenue"][r, -1] = np.maximum(np.round(y["revenue"][r, -1] / 20) * 20, 100)
    y["rd_expense"][r, -1] = y["revenue"][r, -1] / 20
    # 2: high-tech revenue exactly 60 %
    r = groups[2]
    y["revenue"][r, -1] = np.maximum(np.round(y["revenue"][r, -1] / 5) * 5, 100)
    y["high_tech_revenue"][r, -1] = y["revenue"][r, -1] * 3 / 5
    # 3: 科技型中小企业 size limits exactly: 500 staff, revenue and assets 20000万
    r = groups[3]
    scale_money(r, 20000.0 / y["revenue"][r, -1])
    y["revenue"][r, -1] = 20000.0
    factor = 20000.0 / np.maximum(y["total_assets"][r, -1], 1)
    y["total_liabilities"][r, -1] = np.round(y["total_liabilities"][r, -1] * factor, 2)
    y["total_assets"][r, -1] = 20000.0
    share = y["tech_staff"][r, -1] / y["staff_total"][r, -1]
    y["staff_total"][r, -1] = 500.0
    y["tech_staff"][r, -1] = np.round(share * 500)
    y["rd_staff"][r, -1] = np.minimum(y["rd_staff"][r, -1], y["tech_staff"][r, -1])
    # 4: domestic R&D exactly 60 % of R&D
    r = groups[4]
    y["rd_expense"][r, -1] = np.maximum(np.round(y["rd_expense"][r, -1] / 5) * 5, 5)
    y["rd_expense_domestic"][r, -1] = y["rd_expense"][r, -1] * 3 / 5
    # 5: debt ratio exactly 70 %
    r = groups[5]
    y["total_assets"][r, -1] = np.maximum(np.round(y["total_assets"][r, -1] / 10) * 10, 10)
    y["total_liabilities"][r, -1] = y["total_assets"][r, -1] * 7 / 10
    # 6: main business exactly 70 % of revenue
    r = groups[6]
    y["revenue"][r, -1] = np.maximum(np.round(y["revenue"][r, -1] / 10) * 10, 100)
    y["main_revenue"][r, -1] = y["revenue"][r, -1] * 7 / 10
    # 7: revenue exactly 5000万 (the 高企 R&D-intensity band boundary)
    r = groups[7]
    scale_money(r, 5000.0 / y["revenue"][r, -1])
    y["revenue"][r, -1] = 5000.0


def _enforce_consistency(y: dict) -> None:
    """Make every cross-field rule of the data standard hold after all edits."""
    for f in _MONEY_PARTS:
        y[f] = np.minimum(y[f], y["revenue"])
    y["rd_expense_domestic"] = np.minimum(y["rd_expense_domestic"], y["rd_expense"])
    y["total_cost"] = np.maximum(y["total_cost"], y["rd_expense"])
    y["tech_staff"] = np.minimum(y["tech_staff"], y["staff_total"])
    y["rd_staff"] = np.minimum(y["rd_staff"], y["staff_total"])
    y["market_share_national"] = np.clip(y["market_share_national"], 0, 1)


# Missing-cell rates: core fields rarely, rare fields often. Half the rate is firm-level
# (the firm never reports the field), half is scattered cells.
_MISSING: dict[str, float] = {
    "revenue": 0.015,
    "main_revenue": 0.04,
    "high_tech_revenue": 0.05,
    "net_profit": 0.03,
    "total_assets": 0.03,
    "total_liabilities": 0.03,
    "total_cost": 0.04,
    "tax_paid": 0.03,
    "rd_expense": 0.03,
    "rd_expense_domestic": 0.06,
    "rd_deduction": 0.08,
    "staff_total": 0.015,
    "tech_staff": 0.04,
    "rd_staff": 0.05,
    "high_level_talent": 0.10,
    "invention_patents": 0.03,
    "utility_patents": 0.03,
    "design_patents": 0.05,
    "software_copyrights": 0.05,
    "ic_layouts": 0.15,
    "plant_varieties": 0.25,
    "pct_applications": 0.20,
    "invention_applications": 0.06,
    "tech_transfers": 0.08,
    "tech_contract_amount": 0.12,
    "standards_led": 0.08,
    "rd_institution_level": 0.05,
    "gov_projects": 0.06,
    "equity_financing": 0.10,
    "award_level": 0.08,
    "export_revenue": 0.06,
    "market_share_national": 0.35,
    "tax_credit_grade": 0.04,
}


def _punch_holes(rng: np.random.Generator, y: dict) -> None:
    for code, rate in _MISSING.items():
        values = y[code]
        n, ny = values.shape
        mask = (rng.random((n, 1), dtype=np.float32) < rate / 2) | (
            rng.random((n, ny), dtype=np.float32) < rate / 2
        )
        y[code] = np.where(mask, np.nan, values)


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------

_XLSX_MAX_ROWS = 1_048_575


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    if frame.height > _XLSX_MAX_ROWS:
        raise ValueError(f"{path.name}: {frame.height} rows do not fit in one Excel sheet")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(path.stem)
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(row)
    book.save(path)


def write_zone(
    zone: DemoZone, directory: Path, fmt: Literal["csv", "parquet", "xlsx"]
) -> list[Path]:
    """Write panel.<fmt> (the wide panel) and the four tables; return the paths written."""
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ValueError(f"unknown format {fmt!r}: use csv, parquet or xlsx")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "panel": zone.wide_panel(),
        "enterprises": zone.enterprises,
        "yearly": zone.yearly,
        "qualifications": zone.qualifications,
        "negatives": zone.negatives,
    }
    paths = []
    for stem, frame in tables.items():
        path = directory / f"{stem}.{fmt}"
        if fmt == "csv":
            frame.write_csv(path)
        elif fmt == "parquet":
            frame.write_parquet(path)
        else:
            _write_xlsx(frame, path)
        paths.append(path)
    return paths
