"""Read a set of enterprises from the database into Polars frames, without per-row Python.

The querysets come from `innopoints.enterprises.access`, so scope rules apply. Frames are
cached per zone data version (bumped by every write action), so dashboards and list
filters on derived indicators do not re-read the database on every request.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from threading import Lock

import polars as pl
from django.db import connection
from django.db.models import QuerySet

from innopoints.enterprises.models import (
    ENTERPRISE_COLUMNS,
    YEARLY_COLUMNS,
    Enterprise,
    NegativeRecord,
    Qualification,
    YearlyData,
)
from innopoints.standard.catalogue import STANDARD_FIELDS, Field
from innopoints.standard.derived import derive
from innopoints.standard.panel import rows_of, uscc_index, wide_panel

_CACHE: OrderedDict[tuple, dict[str, pl.DataFrame]] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 8


def _read(queryset: QuerySet, columns: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run a values_list queryset with a raw cursor and build a typed frame.

    Drivers differ in how they return dates (objects or ISO text), so date columns are
    built from whichever form arrives.
    """
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    series = []
    for (name, dtype), column in zip(schema.items(), values, strict=True):
        if dtype == pl.Date and any(isinstance(v, str) for v in column):
            series.append(pl.Series(name, column, dtype=pl.String).str.to_date("%Y-%m-%d"))
        elif dtype == pl.Date:
            series.append(pl.Series(name, [_as_date(v) for v in column], dtype=pl.Date))
        else:
            series.append(pl.Series(name, column, dtype=dtype, strict=False))
    return pl.DataFrame(series)


def _as_date(value):
    return value.date() if isinstance(value, dt.datetime) else value


def _dtype(code: str) -> pl.DataType:
    return STANDARD_FIELDS[code].polars_dtype


def read_registry(
    enterprises: QuerySet[Enterprise], custom_fields: list[Field] | tuple[Field, ...] = ()
) -> dict[str, pl.DataFrame]:
    """The four registry tables for a queryset of enterprises, as frames keyed by `uscc`."""
    enterprise_schema = {"uscc": pl.String, "name": pl.String, "zone": pl.String} | {
        c: _dtype(c) for c in ENTERPRISE_COLUMNS if c not in ("uscc", "name")
    }
    ent = _read(
        enterprises.order_by("uscc"),
        [c if c != "zone" else "zone__code" for c in enterprise_schema],
        enterprise_schema,
    )
    yearly_schema = {"uscc": pl.String, "year": pl.Int64} | {c: _dtype(c) for c in YEARLY_COLUMNS}
    columns = ["enterprise__uscc", "year", *YEARLY_COLUMNS]
    yearly_qs = YearlyData.objects.filter(enterprise__in=enterprises).order_by(
        "enterprise__uscc", "year"
    )
    if custom_fields:
        yearly_schema["custom"] = pl.String
        columns.append("custom")
    yearly = _read(yearly_qs, columns, yearly_schema)
    if custom_fields:
        yearly = _unpack_custom(yearly, custom_fields)
    quals = _read(
        Qualification.objects.filter(enterprise__in=enterprises).order_by("id"),
        ["enterprise__uscc", "type", "certificate_no", "valid_from", "valid_until"],
        {
            "uscc": pl.String,
            "type": pl.String,
            "certificate_no": pl.String,
            "valid_from": pl.Date,
            "valid_until": pl.Date,
        },
    )
    negs = _read(
        NegativeRecord.objects.filter(enterprise__in=enterprises).order_by("id"),
        ["enterprise__uscc", "type", "occurred_on", "cleared_on"],
        {"uscc": pl.String, "type": pl.String, "occurred_on": pl.Date, "cleared_on": pl.Date},
    )
    blank_to_null = [
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("industry_code", "region_code", "listing_status")
    ]
    ent = ent.with_columns(blank_to_null)
    yearly = yearly.with_columns(
        [
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
            for c in ("rd_institution_level", "award_level", "tax_credit_grade")
        ]
    )
    return {"enterprises": ent, "yearly": yearly, "qualifications": quals, "negatives": negs}


def _unpack_custom(yearly: pl.DataFrame, custom_fields) -> pl.DataFrame:
    """Turn the JSON `custom` column into one typed column per custom field."""
    json_types = {
        f.code: (pl.String if f.polars_dtype == pl.Date else f.polars_dtype) for f in custom_fields
    }
    decoded = pl.col("custom").fill_null("{}").str.json_decode(pl.Struct(json_types))
    return yearly.with_columns(
        [decoded.struct.field(f.code).alias(f.code) for f in custom_fields]
    ).drop("custom")


def zone_frames(zone, custom: bool = True) -> dict[str, pl.DataFrame]:
    """The zone's registry tables and wide panel, cached per zone data version."""
    key = (connection.alias, connection.settings_dict.get("NAME"), zone.pk, zone.data_version)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    custom_fields = zone.custom_fields() if custom else []
    frames = read_registry(Enterprise.objects.filter(zone=zone), custom_fields)
    frames["panel"] = wide_panel(
        frames["enterprises"], frames["yearly"], frames["qualifications"], frames["negatives"]
    )
    with _CACHE_LOCK:
        _CACHE[key] = frames
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return frames


def zone_derived(zone) -> pl.DataFrame:
    """The zone's wide panel with every derived indicator (cached with the frames)."""
    frames = zone_frames(zone)
    if "derived" not in frames:
        frames["derived"] = derive(frames["panel"], zone.stage_scheme_obj()).collect()
    return frames["derived"]


def firm_rows(zone, uscc: str) -> pl.DataFrame:
    """One firm's rows of the zone's derived panel (all years), found by binary search in
    a uscc index cached with the frames (filtering 10^6 rows would take ≈ 13 ms on every
    call; this takes microseconds). The index holds the sorted uscc column and row
    positions, so the panel is not copied."""
    derived = zone_derived(zone)
    frames = zone_frames(zone)
    if "uscc_index" not in frames:
        frames["uscc_index"] = uscc_index(derived)
    return rows_of(derived, frames["uscc_index"], uscc)


def derived_frame(zones, year: int | None, usccs: list[str] | None = None) -> pl.DataFrame | None:
    """Derived indicators for the given zones, one year (or all years when None)."""
    parts = [zone_derived(zone) for zone in zones]
    if not parts:
        return None
    frame = pl.concat(parts, how="diagonal_relaxed")
    if year is not None:
        frame = frame.filter(pl.col("year") == year)
    if usccs is not None:
        frame = frame.filter(pl.col("uscc").is_in(usccs))
    return frame
