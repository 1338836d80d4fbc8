"""The text columns of the report's per-person sections: every value whole, inside its own column, and no line
wider than the page holds."""

from __future__ import annotations

from records.documents import columns
from records.documents.columns import Column


def test_a_long_value_wraps_inside_its_column_and_the_others_stay_in_line():
    cols = (Column("Module", 10), Column("Due", 10), Column("Days", 4, right=True))
    text = columns.lines(cols, [["Privacy in billing work", "2026-01-31", "12"], ["Short", "2026-02-01", "3"]])
    assert text.splitlines() == [
        "Privacy in  2026-01-31    12",
        "billing",
        "work",
        "Short       2026-02-01     3",
    ]
    assert columns.header(cols) == "Module      Due         Days"


def test_a_word_longer_than_its_column_is_cut_across_lines_not_lost():
    text = columns.lines((Column("Code", 8), Column("x", 1)), [["ABCDEFGHIJKLMNOPQRST", "y"]])
    assert [line.rstrip() for line in text.splitlines()] == ["ABCDEFGH  y", "IJKLMNOP", "QRST"]
    assert "".join(line[:8].strip() for line in text.splitlines()) == "ABCDEFGHIJKLMNOPQRST"


def test_no_line_is_wider_than_the_page_holds():
    for table in (columns.TRANSCRIPT, columns.SHOULD_VS_WAS):
        assert len(columns.header(table)) <= columns.LINE_WIDTH
        long_row = ["word " * 40] * len(table)
        assert max(len(line) for line in columns.lines(table, [long_row]).splitlines()) <= columns.LINE_WIDTH
