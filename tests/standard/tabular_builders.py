"""Builders for the import/export tests (no Django); imported as a plain module."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl

from innopoints.standard.codes import make_uscc

TODAY = dt.date(2025, 6, 30)


def uscc(i: int) -> str:
    """A valid USCC numbered `i`."""
    body = f"91110108{i:09d}"
    return make_uscc(body)


def sample_frames(n: int = 20, years: int = 3, seed: int = 1) -> dict[str, pl.DataFrame]:
    """Typed frames with every standard field, as `validate` returns them."""
    rng = random.Random(seed)
    usccs = [uscc(i) for i in range(n)]
    ent = pl.DataFrame(
        {
            "uscc": usccs,
            "name": [f'北京创新科技有限公司{i}（测试, "引号"）' for i in range(n)],
            "zone": ["Z01"] * n,
            "industry_code": [rng.choice(["C3971", "I65", "M73", "C27"]) for _ in range(n)],
            "region_code": [rng.choice(["110108", "310115", "440305"]) for _ in range(n)],
            "registered_on": [
                dt.date(2000 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28))
                for _ in range(n)
            ],
            "registered_capital": [round(rng.uniform(10, 5000), 2) for _ in range(n)],
            "listing_status": [rng.choice(["none", "reserve", "listed"]) for _ in range(n)],
            "niche_years": [float(rng.randrange(0, 15)) for _ in range(n)],
        },
        schema_overrides={"registered_on": pl.Date},
    )
    rows = []
    for u in usccs:
        for y in range(2024 - years + 1, 2025):
            revenue = round(rng.uniform(100, 50000), 2)
            staff = rng.randrange(10, 2000)
            rd = round(revenue * rng.uniform(0.01, 0.2), 2)
            rows.append(
                {
                    "uscc": u,
                    "year": y,
                    "revenue": revenue,
                    "main_revenue": round(revenue * 0.9, 2),
                    "high_tech_revenue": round(revenue * 0.5, 2),
                    "net_profit": round(rng.uniform(-500, 3000), 2),
                    "total_assets": round(rng.uniform(100, 90000), 2),
                    "total_liabilities": round(rng.uniform(10, 5000), 2),
                    "net_assets": round(rng.uniform(-100, 5000), 2),
                    "total_cost": round(revenue * 0.8, 2),
                    "tax_paid": round(revenue * 0.05, 2),
                    "rd_expense": rd,
                    "rd_expense_domestic": round(rd * 0.9, 2),
                    "rd_deduction": round(rd * 0.5, 2),
                    "staff_total": staff,
                    "tech_staff": staff // 3,
                    "rd_staff": staff // 4,
                    "high_level_talent": rng.randrange(0, 20),
                    "invention_patents": rng.randrange(0, 50),
                    "utility_patents": rng.randrange(0, 50),
                    "design_patents": rng.randrange(0, 10),
                    "software_copyrights": rng.randrange(0, 30),
                    "ic_layouts": rng.randrange(0, 3),
                    "plant_varieties": 0,
                    "pct_applications": rng.randrange(0, 5),
                    "invention_applications": rng.randrange(0, 20),
                    "class1_ip": rng.randrange(0, 50),
                    "class2_ip": rng.randrange(0, 80),
                    "tech_transfers": rng.randrange(0, 10),
                    "tech_contract_amount": round(rng.uniform(0, 1000), 2),
                    "standards_led": rng.randrange(0, 3),
                    "rd_institution_level": rng.choice(
                        ["none", "municipal", "provincial", "national"]
                    ),
                    "gov_projects": rng.randrange(0, 5),
                    "equity_financing": round(rng.uniform(0, 2000), 2),
                    "award_level": rng.choice(["none", "municipal", "provincial", "national"]),
                    "export_revenue": round(revenue * 0.1, 2),
                    "market_share_national": round(rng.uniform(0, 0.6), 4),
                    "tax_credit_grade": rng.choice(list("ABMCD")),
                }
            )
    yearly = pl.DataFrame(rows)
    qual = pl.DataFrame(
        {
            "uscc": usccs[: n // 2],
            "type": [rng.choice(["high_tech", "little_giant", "gazelle"]) for _ in range(n // 2)],
            "certificate_no": [f"GR2022{i:05d}" for i in range(n // 2)],
            "valid_from": [dt.date(2022, 12, 1)] * (n // 2),
            "valid_until": [dt.date(2025, 11, 30)] * (n // 2),
        }
    )
    neg = pl.DataFrame(
        {
            "uscc": usccs[:2],
            "type": ["abnormal_operation", "major_incident"],
            "occurred_on": [dt.date(2023, 5, 1), dt.date(2024, 2, 3)],
            "cleared_on": [dt.date(2023, 9, 1), None],
        }
    )
    return {"enterprises": ent, "yearly": yearly, "qualifications": qual, "negatives": neg}


__all__ = ["TODAY", "sample_frames", "uscc"]
