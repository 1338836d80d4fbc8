"""A long PDF rendered in parts and merged into one file, so that memory does not grow with its length.

WeasyPrint holds a whole document's boxes while it lays it out: the training report for 10,000 people was one
document of some 2,000 pages and 1.2 GB. Here each part (the report's front sections, then its per-person sections
a few hundred people at a time, records/documents/report.py) is laid out and written to a temporary file alone, and
freed before the next. The parts are then merged with pypdf, in order, into one PDF.

The margin boxes are drawn over the merged pages, once the page count is known (in the parts they are empty,
static/css/report_parts.css): the running header and the client's name, the same on every page, from one page of
each size rendered by WeasyPrint from static/css/report.css (records/report/margins.html) and placed on every page
as a shared form XObject; "page N of M" as a line of text of its own on each page, in the standard Times-Roman
(a PDF viewer's own; WeasyPrint laying out one empty page per report page for it took 7-20 ms a page), where
report.css's bottom-right margin box puts it. Nothing of a page's own content is parsed or changed.

The parts are rendered side by side in REPORT_RENDER_PROCESSES child processes (hipaa_training.pdf_worker: the
report job runs in a Celery prefork worker, whose processes may not have multiprocessing children) while the next
part's HTML, which needs the database, is made here; each part's PDF goes to its place in the merge whichever ends
first. At most one part more than there are children is in hand at a time, so memory stays flat.

The parts' bookmarks are kept: the first part's as they are, a later part's under the first part's last top-level
one (the report's title), as in one document.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    Destination,
    DictionaryObject,
    Fit,
    IndirectObject,
    NameObject,
)

from hipaa_training.pdf import render_pdf
from hipaa_training.pdf_worker import RenderPool

PARTS_CSS = "css/report_parts.css"
MARGINS = NameObject("/HTMargins")
PAGE_FONT = NameObject("/HTPageNumber")

# "page N of M" where static/css/report.css's @bottom-right puts it: 7.5pt, #555, right-aligned on the right
# margin (14 mm in from the page's edge), its baseline 20.08 pt above the bottom edge (vertically centred in the
# 16 mm bottom margin; tests/records/test_report_chunks.py compares it with WeasyPrint's own).
PAGE_NUMBER_SIZE = 7.5
PAGE_NUMBER_RIGHT = 14 * 72 / 25.4
PAGE_NUMBER_BASELINE = 20.08
# Times-Roman's advance widths (its AFM, per 1,000 em) for the characters of "page N of M".
_TIMES_WIDTHS = {" ": 250, "a": 444, "e": 444, "f": 333, "g": 500, "o": 500, "p": 500} | dict.fromkeys(
    "0123456789", 500
)


def page_number_line(number: int, total: int, page_width: float) -> bytes:
    """The content stream that draws "page N of M" on a page `page_width` points wide."""
    text = f"page {number} of {total}"
    width = sum(_TIMES_WIDTHS[c] for c in text) * PAGE_NUMBER_SIZE / 1000
    x = page_width - PAGE_NUMBER_RIGHT - width
    at = f"1 0 0 1 {x:.3f} {PAGE_NUMBER_BASELINE} Tm"
    return f"q 0.333333 g BT {PAGE_FONT} {PAGE_NUMBER_SIZE} Tf {at} ({text}) Tj ET Q\n".encode("ascii")


def _stream(writer: PdfWriter, data: bytes, **entries: Any) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream.update({NameObject(k): v for k, v in entries.items()})
    # pypdf's private _add_object: 6.21 has no public way to add an indirect object (pinned in pyproject.toml).
    return writer._add_object(stream.flate_encode() if len(data) > 64 else stream)


def _as_form(writer: PdfWriter, page: PageObject) -> IndirectObject:
    """A margins page as a form XObject in `writer` (its resources, the font, copied once for all pages)."""
    contents = page.get_contents()
    return _stream(
        writer,
        contents.get_data() if contents is not None else b"",
        **{
            "/Type": NameObject("/XObject"),
            "/Subtype": NameObject("/Form"),
            "/BBox": ArrayObject(page.mediabox),
            "/Resources": page["/Resources"].clone(writer),
        },
    )


def _draw_over(
    page: PageObject,
    form: IndirectObject,
    font: IndirectObject,
    before: IndirectObject,
    after: bytes,
    writer: PdfWriter,
) -> None:
    """Draw `form` and the content `after` over `page`: its own content between `before` ("q") and "Q"."""
    own = page.raw_get("/Contents") if "/Contents" in page else ArrayObject()
    own = own.get_object() if isinstance(own, IndirectObject) and isinstance(own.get_object(), ArrayObject) else own
    streams = list(own) if isinstance(own, ArrayObject) else [own]
    # The page's own copies: WeasyPrint's pages may share one resource dictionary.
    resources = DictionaryObject(cast(DictionaryObject, page.get("/Resources", {})))
    xobjects = DictionaryObject(cast(DictionaryObject, resources.get("/XObject", {})))
    xobjects[MARGINS] = form
    resources[NameObject("/XObject")] = xobjects
    fonts = DictionaryObject(cast(DictionaryObject, resources.get("/Font", {})))
    fonts[PAGE_FONT] = font
    resources[NameObject("/Font")] = fonts
    page[NameObject("/Resources")] = resources
    tail = _stream(writer, b"\nQ\nq " + MARGINS.encode() + b" Do Q\n" + after)
    page[NameObject("/Contents")] = ArrayObject([before, *streams, tail])


def _landscape(page: PageObject) -> bool:
    return float(page.mediabox.width) > float(page.mediabox.height)


def _copy_outline(
    writer: PdfWriter, reader: PdfReader, items: list[Any], parent: Any, offset: int, tops: list[Any]
) -> None:
    last = None
    for item in items:
        if isinstance(item, list):
            _copy_outline(writer, reader, item, last, offset, [])
            continue
        if not isinstance(item, Destination):
            continue
        page = reader.get_destination_page_number(item) or 0
        fit = Fit.xyz(item.left, item.top, item.zoom) if item.typ == "/XYZ" else Fit.fit()
        last = writer.add_outline_item(item.title or "", offset + page, parent=parent, fit=fit)
        tops.append(last)


def render_processes(processes: int | None = None) -> int:
    return max(1, processes or settings.REPORT_RENDER_PROCESSES)


def write_parts(
    parts: Iterable[str],
    out: IO[bytes],
    margins_html: Callable[[list[bool]], str],
    *,
    user_agent_stylesheet: str | None = None,
    processes: int | None = None,
) -> int:
    """Render each HTML document of `parts` to PDF alone (taken from the iterable one at a time, written to a
    temporary file and freed before the next), merge them into one PDF written to `out`, and draw every page's
    margin boxes over it: the running header and the like from `margins_html(landscape)`, the HTML of a document of
    one page per entry (landscape where True: it is asked for [False, True]), and "page N of M". Returns the number
    of pages.

    With more than one part and `processes` (by default settings.REPORT_RENDER_PROCESSES) over 1, the parts are
    rendered that many at a time in child processes (hipaa_training.pdf_worker) while the next one is made here;
    with 1, here, one after the other."""

    def margins() -> PdfReader:
        return PdfReader(
            io.BytesIO(render_pdf(margins_html([False, True]), user_agent_stylesheet=user_agent_stylesheet))
        )

    with ExitStack() as stack:
        rest = iter(parts)
        head = list(islice(rest, 2))  # a second part or none, to know whether to start any process
        several = len(head) > 1
        documents = chain(head, rest)
        del head  # each part freed once rendered
        count = render_processes(processes)
        if count > 1 and several:
            files, over = _render_in_children(documents, count, stack, user_agent_stylesheet, margins)
        else:
            files = _render_here(documents, stack, user_agent_stylesheet)
            over = margins()
        return _merge(files, over, out)


def _render_here(parts: Iterable[str], stack: ExitStack, user_agent_stylesheet: str | None) -> list[IO[bytes]]:
    files: list[IO[bytes]] = []
    for html in parts:
        handle = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (closed by the caller's stack)
        handle.write(render_pdf(html, stylesheets=(PARTS_CSS,), user_agent_stylesheet=user_agent_stylesheet))
        handle.seek(0)
        files.append(handle)
    return files


def _render_in_children(
    parts: Iterable[str],
    processes: int,
    stack: ExitStack,
    user_agent_stylesheet: str | None,
    margins: Callable[[], PdfReader],
) -> tuple[list[IO[bytes]], PdfReader]:
    """The parts rendered `processes` at a time in child processes, each HTML and PDF a file in a private temporary
    directory; at most one part more than the children's is made before one of them is free. The margins page is
    rendered here while the last parts are."""
    directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="report-parts-")))
    targets: list[Path] = []
    with RenderPool(processes, timeout=settings.REPORT_RENDER_TIMEOUT_SECONDS) as pool:
        for index, html in enumerate(parts):
            source, target = directory / f"{index}.html", directory / f"{index}.pdf"
            source.write_text(html, encoding="utf-8")
            del html
            pool.submit(index, source, target, stylesheets=(PARTS_CSS,), user_agent_stylesheet=user_agent_stylesheet)
            targets.append(target)
        over = margins()
        pool.join()
    return [stack.enter_context(target.open("rb")) for target in targets], over


def _merge(files: list[IO[bytes]], margins: PdfReader, out: IO[bytes]) -> int:
    """The parts' PDFs merged in order into `out`, `margins`' pages (one portrait, one landscape) and "page N of M"
    drawn over every page; returns the number of pages."""
    writer = PdfWriter()
    parent = None
    for number, handle in enumerate(files):
        reader = PdfReader(handle)
        offset = len(writer.pages)
        if number == 0 and reader.metadata:
            writer.add_metadata({k: v for k, v in reader.metadata.items() if isinstance(k, str)})
        for page in reader.pages:
            writer.add_page(page)
        tops: list[Any] = []
        _copy_outline(writer, reader, reader.outline, parent, offset, tops)
        if number == 0 and tops:
            parent = tops[-1]
        handle.close()  # the part is in the writer now
    # One margins page of each size (portrait, landscape), drawn on every page of that size.
    forms = {_landscape(over): _as_form(writer, over) for over in margins.pages}
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Times-Roman"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    before = _stream(writer, b"q\n")
    total = len(writer.pages)
    for number, page in enumerate(writer.pages, start=1):
        line = page_number_line(number, total, float(page.mediabox.width))
        _draw_over(page, forms[_landscape(page)], font, before, line, writer)
    writer.write(out)
    return len(writer.pages)
