"""Build the demo zone in the database: zone, banks, one user per role, synthetic firms.

Idempotent: a second run finds the zone with its enterprises and only makes sure the
demo users exist. Data are written through the import action (audited like any import).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction

from innopoints.accounts.actions import do_create_user
from innopoints.audit.actions import record
from innopoints.enterprises.actions import apply_registry
from innopoints.enterprises.models import Enterprise, ImportBatch
from innopoints.zones.models import Bank, Partnership, Zone

DEMO_ZONE = {
    "code": "SJZ-HTZ",
    "name": "石家庄高新技术产业开发区",
    "name_en": "Shijiazhuang High-tech Industrial Development Zone",
    "level": Zone.Level.NATIONAL,
    "region_code": "130100",
}
DEMO_BANKS = [
    ("ccb-sjz", "中国建设银行石家庄分行", "China Construction Bank, Shijiazhuang"),
    ("abc-sjz", "中国农业银行石家庄分行", "Agricultural Bank of China, Shijiazhuang"),
    ("bocom-hb", "交通银行河北省分行", "Bank of Communications, Hebei"),
    ("citic-sjz", "中信银行石家庄分行", "China CITIC Bank, Shijiazhuang"),
    ("hebei-bank", "河北银行", "Bank of Hebei"),
]
# Demo only: documented in the README; never use these passwords anywhere else.
DEMO_USERS = {
    "admin": ("demo-admin-2026", "zone_admin"),
    "supervisor": ("demo-super-2026", "supervisor"),
    "firm": ("demo-firm-2026", "enterprise"),
    "bank": ("demo-bank-2026", "bank"),
}


def _zone_and_banks() -> Zone:
    zone = Zone.objects.filter(code=DEMO_ZONE["code"]).first()
    if zone is None:
        with transaction.atomic():
            zone = Zone.objects.create(**DEMO_ZONE)
            record(
                None,
                "zone.create",
                zone,
                zone=zone,
                changes={k: [None, v] for k, v in DEMO_ZONE.items()},
            )
    for code, name, name_en in DEMO_BANKS:
        if not Bank.objects.filter(code=code).exists():
            with transaction.atomic():
                bank = Bank.objects.create(code=code, name=name, name_en=name_en)
                Partnership.objects.create(bank=bank, zone=zone, since=dt.date(2023, 10, 1))
                record(None, "bank.create", bank, zone=zone, detail={"partner_of": zone.code})
    return zone


def _users(zone: Zone) -> None:
    User = get_user_model()
    first_firm = Enterprise.objects.filter(zone=zone).order_by("uscc").first()
    for username, (password, role) in DEMO_USERS.items():
        if User.objects.filter(username=username).exists():
            continue
        if role == "enterprise" and first_firm is None:
            continue
        do_create_user(
            None,
            username,
            password,
            role,
            zones=[zone] if role in ("zone_admin", "supervisor") else [],
            enterprise=first_firm if role == "enterprise" else None,
            bank=Bank.objects.get(code="ccb-sjz") if role == "bank" else None,
        )


def build_demo(
    enterprises: int = 2000, years: int = 4, seed: int = 1, echo: Callable[[str], None] = print
) -> str:
    """Create the demo zone once (the schema must exist); returns a summary line."""
    from innopoints.demo.generator import generate_zone

    zone = _zone_and_banks()
    if not Enterprise.objects.filter(zone=zone).exists():
        echo(f"generating {enterprises:,} enterprises × {years} years (seed {seed}) …")
        data = generate_zone(
            enterprises=enterprises,
            years=years,
            seed=seed,
            zone_code=zone.code,
            region_code=zone.region_code,
        )
        batch = ImportBatch.objects.create(
            zone=zone,
            file_name=f"demo-generator seed={seed}",
            sha256="-" * 64,
            mode=ImportBatch.Mode.STRICT,
            written=True,
        )
        frames = {
            "enterprises": data.enterprises.drop("zone", strict=False),
            "yearly": data.yearly,
            "qualifications": data.qualifications,
            "negatives": data.negatives,
        }
        counts = apply_registry(None, zone, frames, batch)
        batch.counts = counts
        batch.save(update_fields=["counts"])
        record(
            None,
            "import",
            batch,
            zone=zone,
            object_repr=batch.file_name,
            detail={"counts": counts, "source": "demo generator"},
        )
    _users(zone)
    from innopoints.finance.demo import build_finance_demo

    build_finance_demo(zone)
    from innopoints.policies.demo import seed_policies

    echo(seed_policies(zone, echo))
    from innopoints.services.demo import seed_services

    echo(seed_services(zone, echo=echo))
    firms = Enterprise.objects.filter(zone=zone).count()
    return f"demo zone {zone.code}: {firms:,} enterprises; log in as " + ", ".join(
        f"{u} / {p}" for u, (p, _) in DEMO_USERS.items()
    )
