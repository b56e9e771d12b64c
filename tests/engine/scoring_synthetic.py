"""A small synthetic wide panel (one row per uscc + year) for the engine tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from innopoints.standard.catalogue import NEGATIVE_TYPES, QUALIFICATION_TYPES

SECTIONS = ("C", "I", "M", "F")


def synthetic_panel(
    n_firms: int = 60, years: tuple[int, ...] = (2022, 2023), seed: int = 7
) -> pl.DataFrame:
    """A wide panel with the data-standard fields, `has_<type>` and `neg_<type>` booleans."""
    rng = np.random.default_rng(seed)
    uscc = [f"91{k:016d}" for k in range(n_firms)]
    registered = [
        dt.date(2005, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 6500, n_firms)
    ]
    section = rng.choice(SECTIONS, n_firms)
    scale = rng.lognormal(6.5, 1.6, n_firms)
    rows = []
    for year in years:
        growth = 1 + rng.normal(0.08, 0.15, n_firms)
        revenue = scale * growth ** (year - years[0])
        rd = revenue * rng.uniform(0.0, 0.12, n_firms)
        staff = np.maximum(3, (revenue / 60).astype(int))
        frame = {
            "uscc": uscc,
            "year": [year] * n_firms,
            "name": [f"企业{k}" for k in range(n_firms)],
            "zone": rng.choice(["Z1", "Z2"], n_firms).tolist(),
            "industry_code": [f"{s}{rng.integers(10, 99)}" for s in section],
            "registered_on": registered,
            "revenue": revenue,
            "main_revenue": revenue * rng.uniform(0.5, 1.0, n_firms),
            "high_tech_revenue": revenue * rng.uniform(0.0, 0.9, n_firms),
            "net_profit": revenue * rng.normal(0.06, 0.1, n_firms),
            "total_assets": revenue * rng.uniform(0.8, 2.0, n_firms),
            "total_liabilities": revenue * rng.uniform(0.2, 1.2, n_firms),
            "total_cost": revenue * rng.uniform(0.6, 1.0, n_firms),
            "tax_paid": revenue * rng.uniform(0.01, 0.08, n_firms),
            "rd_expense": rd,
            "rd_expense_domestic": rd * 0.9,
            "rd_deduction": rd * rng.uniform(0.5, 1.0, n_firms),
            "staff_total": staff,
            "tech_staff": (staff * rng.uniform(0.05, 0.6, n_firms)).astype(int),
            "rd_staff": (staff * rng.uniform(0.02, 0.4, n_firms)).astype(int),
            "high_level_talent": rng.poisson(1.5, n_firms),
            "invention_patents": rng.poisson(3, n_firms),
            "utility_patents": rng.poisson(6, n_firms),
            "design_patents": rng.poisson(1, n_firms),
            "software_copyrights": rng.poisson(4, n_firms),
            "ic_layouts": rng.poisson(0.1, n_firms),
            "plant_varieties": np.zeros(n_firms, dtype=int),
            "pct_applications": rng.poisson(0.4, n_firms),
            "invention_applications": rng.poisson(2, n_firms),
            "tech_transfers": rng.poisson(1, n_firms),
            "tech_contract_amount": rng.lognormal(3, 2, n_firms) * (rng.random(n_firms) < 0.5),
            "standards_led": rng.poisson(0.5, n_firms),
            "rd_institution_level": rng.choice(
                ["none", "municipal", "provincial", "national"], n_firms
            ).tolist(),
            "gov_projects": rng.poisson(0.8, n_firms),
            "equity_financing": rng.lognormal(5, 2, n_firms) * (rng.random(n_firms) < 0.2),
            "award_level": rng.choice(
                ["none", "none", "municipal", "provincial", "national"], n_firms
            ).tolist(),
            "export_revenue": revenue * rng.uniform(0, 0.3, n_firms),
            "market_share_national": rng.uniform(0, 0.2, n_firms),
            "tax_credit_grade": rng.choice(["A", "B", "M", "C", "D"], n_firms).tolist(),
        }
        for qual in QUALIFICATION_TYPES:
            frame[f"has_{qual}"] = (rng.random(n_firms) < 0.15).tolist()
        for neg in NEGATIVE_TYPES:
            frame[f"neg_{neg}"] = (rng.random(n_firms) < 0.03).tolist()
        df = pl.DataFrame(frame)
        # some missing values, as in real imports
        holes = rng.random(n_firms) < 0.1
        df = df.with_columns(
            pl.when(pl.Series(holes)).then(None).otherwise(pl.col("rd_expense")).alias("rd_expense")
        )
        rows.append(df)
    return pl.concat(rows)
