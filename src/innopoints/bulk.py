"""Bulk inserts of Polars frames with one `executemany` per chunk (no model instances).

Django's `bulk_create` spends most of its time building SQL value by value; for tens of
thousands of rows an `executemany` over the frame's rows is an order of magnitude faster
(import of 36,882 yearly rows: 13.9 s → 1.4 s). Used by the import action and by the pools
computation.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from django.db import connection, models
from django.utils import timezone


def bulk_insert_frame(model, frame: pl.DataFrame, fixed: dict[str, Any] | None = None) -> None:
    """Insert a frame's rows with one `executemany` (no model instances).

    Columns are the model's attribute names. Text columns that are NOT NULL get "" for
    missing values, dates go as ISO text, `auto_now` timestamps are set here.
    """
    if frame.is_empty():
        return
    fixed = dict(fixed or {})
    meta = model._meta
    fields = {f.attname: f for f in meta.concrete_fields}
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    for f in meta.concrete_fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixed[f.attname] = stamp
        elif (
            not f.null
            and not f.primary_key
            and f.attname not in frame.columns
            and f.attname not in fixed
        ):
            default = f.get_default()
            fixed[f.attname] = json.dumps(default) if isinstance(default, dict | list) else default
    prepared = []
    for name in frame.columns:
        dtype, column = frame.schema[name], pl.col(name)
        if dtype == pl.Date:
            column = column.cast(pl.String)
        elif isinstance(fields[name], models.CharField) and not fields[name].null:
            column = column.cast(pl.String).fill_null("")
        prepared.append(column)
    frame = frame.select(prepared).with_columns([pl.lit(v).alias(k) for k, v in fixed.items()])
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(meta.db_table),
        ", ".join(quote(fields[c].column) for c in frame.columns),
        ", ".join(["%s"] * frame.width),
    )
    with connection.cursor() as cursor:
        for chunk in frame.iter_slices(20_000):
            cursor.executemany(sql, chunk.rows())
