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
    for tables, widest in ((columns.LANDSCAPE, columns.LINE_WIDTH), (columns.PORTRAIT, columns.PORTRAIT_LINE_WIDTH)):
        for table in tables:
            assert len(columns.header(table)) <= widest
            long_row = ["word " * 40] * len(table)
            assert max(len(line) for line in columns.lines(table, [long_row]).splitlines()) <= widest


def test_a_value_of_two_lines_keeps_them_in_its_column():
    cols = (Column("Person", 12), Column("Hired", 10))
    assert columns.lines(cols, [["Ann Lee\nann@x.test", "2026-01-05"]]).splitlines() == [
        "Ann Lee       2026-01-05",
        "ann@x.test",
    ]


def test_a_list_escapes_every_value_and_tints_the_late_rows_across_the_width():
    cols = (Column("Person", 12), Column("Status", 6))
    html = columns.marked_lines(cols, [(["<b>Eve</b>", "late"], True), (["Bo & Co", "ok"], False)], bold_first=True)
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html and "Bo &amp; Co" in html
    late, fine = html.split("\n")
    assert late.startswith('<span class="late"><b>&lt;b&gt;Eve&lt;/b&gt;  </b>') and late.endswith("late  </span>")
    assert fine == "<b>Bo &amp; Co     </b>  ok"
