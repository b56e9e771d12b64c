"""`uscc_index` / `rows_of`: a firm's rows found by one dict lookup, whether its rows are
contiguous (a panel sorted by uscc: a zero-copy slice) or scattered (gathered)."""

from __future__ import annotations

import polars as pl

from innopoints.standard.panel import rows_of, uscc_index


def test_rows_of_equals_filtering_for_sorted_scattered_and_absent_firms() -> None:
    frame = pl.DataFrame(
        {
            "uscc": ["B", "A", "B", "C", "C", "A", "D"],
            "year": [2023, 2023, 2024, 2023, 2024, 2024, 2025],
        }
    )
    for panel in (frame, frame.sort("uscc", "year")):
        index = uscc_index(panel)
        for code in ("A", "B", "C", "D"):
            assert rows_of(panel, index, code).equals(panel.filter(pl.col("uscc") == code))
        missing = rows_of(panel, index, "Z")
        assert missing.is_empty() and missing.schema == panel.schema
    scattered = uscc_index(frame)
    assert scattered["A"] == [1, 5] and scattered["C"] == (3, 2) and scattered["D"] == (6, 1)
    assert uscc_index(frame.sort("uscc"))["A"] == (0, 2)
