"""A long PDF rendered in parts and merged into one file, so that memory does not grow with its length.

WeasyPrint holds a whole document's boxes while it lays it out: the training report for 10,000 people was one
document of some 2,000 pages and 1.2 GB. Here each part (the report's front sections, then its per-person sections
a few hundred people at a time, records/documents/report.py) is laid out and written to a temporary file alone, and
freed before the next. The parts are then merged with pypdf, in order, into one PDF.

Every page's margin boxes (the running header, the client's name, "page N of M") are drawn by one more document,
rendered once the page count is known: as many pages as the parts have, each the size of its page and with nothing
on it but the margin boxes of static/css/report.css. In the parts they are empty (static/css/report_parts.css).
Each of its pages is placed over the part's page as a form XObject, without parsing the page's own content.

The parts' bookmarks are kept: the first part's as they are, a later part's under the first part's last top-level
one (the report's title), as in one document.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import IO, Any, cast

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

PARTS_CSS = "css/report_parts.css"
MARGINS = NameObject("/HTMargins")


def _stream(writer: PdfWriter, data: bytes, **entries: Any) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream.update({NameObject(k): v for k, v in entries.items()})
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


def _draw_over(page: PageObject, form: IndirectObject, before: IndirectObject, after: IndirectObject) -> None:
    """Draw `form` over `page`: its content between `before` ("q") and `after` ("Q", then the form)."""
    own = page.raw_get("/Contents") if "/Contents" in page else ArrayObject()
    own = own.get_object() if isinstance(own, IndirectObject) and isinstance(own.get_object(), ArrayObject) else own
    streams = list(own) if isinstance(own, ArrayObject) else [own]
    # The page's own copies: WeasyPrint's pages may share one resource dictionary.
    resources = DictionaryObject(cast(DictionaryObject, page.get("/Resources", {})))
    xobjects = DictionaryObject(cast(DictionaryObject, resources.get("/XObject", {})))
    xobjects[MARGINS] = form
    resources[NameObject("/XObject")] = xobjects
    page[NameObject("/Resources")] = resources
    page[NameObject("/Contents")] = ArrayObject([before, *streams, after])


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


def write_parts(
    parts: Iterable[str],
    out: IO[bytes],
    margins_html: Callable[[list[bool]], str],
    *,
    user_agent_stylesheet: str | None = None,
) -> int:
    """Render each HTML document of `parts` to PDF alone (taken from the iterable one at a time, written to a
    temporary file and freed before the next), merge them into one PDF written to `out`, and draw every page's
    margin boxes over it from `margins_html(landscape)`: the HTML of a document of one page per entry, landscape
    where True. Returns the number of pages."""
    with ExitStack() as stack:
        files: list[IO[bytes]] = []
        handle: IO[bytes]
        for html in parts:
            handle = stack.enter_context(tempfile.TemporaryFile())
            handle.write(render_pdf(html, stylesheets=(PARTS_CSS,), user_agent_stylesheet=user_agent_stylesheet))
            handle.seek(0)
            files.append(handle)
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
        landscape = [float(p.mediabox.width) > float(p.mediabox.height) for p in writer.pages]
        margins_pdf = render_pdf(margins_html(landscape), user_agent_stylesheet=user_agent_stylesheet)
        margins = PdfReader(io.BytesIO(margins_pdf))
        if len(margins.pages) != len(writer.pages):
            raise ValueError(f"the margins have {len(margins.pages)} pages for {len(writer.pages)}")
        before = _stream(writer, b"q\n")
        after = _stream(writer, b"\nQ\nq " + MARGINS.encode() + b" Do Q\n")
        for page, over in zip(writer.pages, margins.pages, strict=True):
            _draw_over(page, _as_form(writer, over), before, after)
        writer.write(out)
        return len(writer.pages)
