"""The report's parts rendered side by side in child processes (records/documents/parts.py,
hipaa_training/pdf_worker.py): the same document as one after the other, each part in its place whichever child
ends first; a child's failure raised here with its error, and no child left running on any way out; with one
process, or one part, no process started at all."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader

from hipaa_training import pdf_worker
from hipaa_training.pdf_worker import RenderError, RenderPool
from records.documents.parts import write_parts
from records.documents.report import render_report
from records.exports import ExportFilters
from tests.records.test_report_chunks import CHUNK, pages_text, workforce


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[str]]:
    """The child processes the render pools start, as they start them."""
    processes: list[subprocess.Popen[str]] = []
    start = RenderPool._start

    def spy(pool: RenderPool) -> Any:
        child = start(pool)
        processes.append(child.process)
        return child

    monkeypatch.setattr(RenderPool, "_start", spy)
    return processes


_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before() -> None:
    """This process's children before the test (in the whole suite it has others of its own, such as a test's
    Celery worker): `children` leaves them out."""
    _BEFORE.clear()
    _BEFORE.update(_all_children())


def _all_children() -> list[int]:
    """The processes (zombies too) whose parent is this one, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


def children() -> list[int]:
    """The processes (zombies too) whose parent is this one and that the test started."""
    return [pid for pid in _all_children() if pid not in _BEFORE]


def pdftotext(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def bookmarks(reader: PdfReader, items: list[Any]) -> list[Any]:
    """The outline as titles and page numbers, nested."""
    return [
        bookmarks(reader, item) if isinstance(item, list) else (item.title, reader.get_destination_page_number(item))
        for item in items
    ]


def margins(landscape: list[bool]) -> str:
    return "<p>the margins</p>"


def page(text: str, pages: int = 1) -> str:
    return "".join(f'<p style="break-before: page">{text} {n}</p>' for n in range(pages))


@pytest.mark.usefixtures("catalog")
def test_the_parts_rendered_side_by_side_make_the_same_report_as_one_after_the_other(
    compliance_officer, settings, time_machine, started
):
    workforce()
    time_machine.move_to(timezone.now(), tick=False)  # the cover's "Generated" the same in both
    settings.REPORT_RENDER_PROCESSES = 1
    serial = render_report(ExportFilters(), chunk_people=CHUNK)
    assert started == []
    settings.REPORT_RENDER_PROCESSES = 2
    parallel = render_report(ExportFilters(), chunk_people=CHUNK)
    assert len(started) == 2 and all(p.returncode == 0 for p in started)

    one, two = PdfReader(io.BytesIO(serial)), PdfReader(io.BytesIO(parallel))
    assert len(one.pages) == len(two.pages) > 10
    assert pages_text(serial) == pages_text(parallel)
    assert pdftotext(serial) == pdftotext(parallel)
    assert [p.mediabox for p in one.pages] == [p.mediabox for p in two.pages]
    assert bookmarks(one, one.outline) == bookmarks(two, two.outline)
    assert children() == []


def test_each_part_is_merged_in_its_place_whichever_child_ends_first(started):
    # The first part, of 40 pages, ends well after the two short ones behind it.
    out = io.BytesIO()
    pages = write_parts([page("first", 40), page("second"), page("third")], out, margins, processes=2)
    assert pages == 42
    text = pages_text(out.getvalue())
    assert [t.split("\n")[0] for t in (text[0], text[39], text[40], text[41])] == [
        "first 0",
        "first 39",
        "second 0",
        "third 0",
    ]
    assert len(started) == 2


def test_no_more_parts_are_made_than_the_children_have_in_hand_and_one(started, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    waiting: list[int] = []

    def parts() -> Iterator[str]:
        for n in range(8):
            # The parts handed to a child and not yet rendered, when the next one is asked for.
            waiting.append(len(list(tmp_path.glob("report-parts-*/*.html"))))
            yield page(f"part {n}", 3)

    assert write_parts(parts(), io.BytesIO(), margins, processes=2) == 24
    assert max(waiting) == 2
    assert list(tmp_path.iterdir()) == []  # the HTML and PDF files gone


def test_a_part_that_fails_in_a_child_raises_here_with_its_error_and_no_child_is_left(started):
    with pytest.raises(RenderError, match=r"(?s)failed to render in PDF renderer.*no static stylesheet 'css/no.css'"):
        write_parts(
            [page(str(n)) for n in range(5)], io.BytesIO(), margins, user_agent_stylesheet="css/no.css", processes=2
        )
    assert len(started) == 2
    assert all(p.returncode is not None for p in started)
    assert children() == []


def test_a_child_that_dies_raises_here_and_no_child_is_left(started):
    def parts() -> Iterator[str]:
        yield page("first", 30)
        yield page("second", 30)
        os.kill(started[0].pid, signal.SIGKILL)
        yield page("third")

    with pytest.raises(RenderError, match=r"ended \(exit status -9\) while rendering part 0"):
        write_parts(parts(), io.BytesIO(), margins, processes=2)
    assert all(p.returncode is not None for p in started)
    assert children() == []


def test_a_part_not_rendered_in_time_raises_here_and_no_child_is_left(started, tmp_path):
    stuck = tmp_path / "stuck.html"
    os.mkfifo(stuck)  # nobody writes to it: the child waits on it, as on a render that never ends

    def unblock() -> None:  # should the timeout not work: the child reads an empty page and the test fails
        with contextlib.suppress(OSError):  # no reader left (the child was killed): nothing to do
            os.close(os.open(stuck, os.O_WRONLY | os.O_NONBLOCK))

    (tmp_path / "fine.html").write_text(page("fine"), encoding="utf-8")
    refused = pytest.raises(RenderError, match=r"part 1 was not rendered within 2 s by PDF renderer")
    guard = threading.Timer(30, unblock)
    guard.start()
    try:
        with refused, RenderPool(2, timeout=2) as pool:
            pool.submit(0, tmp_path / "fine.html", tmp_path / "fine.pdf")
            pool.submit(1, stuck, tmp_path / "stuck.pdf")
            pool.join()
    finally:
        guard.cancel()
    assert len(started) == 2 and all(p.returncode is not None for p in started)
    assert children() == []


def test_the_report_s_parts_are_rendered_within_the_timeout_setting(started, settings):
    settings.REPORT_RENDER_TIMEOUT_SECONDS = 0.5  # less than a child takes to start
    with pytest.raises(RenderError, match=r"part 0 was not rendered within 0.5 s"):
        write_parts([page("first"), page("second")], io.BytesIO(), margins, processes=2)
    assert all(p.returncode is not None for p in started)
    assert children() == []


def test_an_error_here_stops_the_children(started):
    def parts() -> Iterator[str]:
        yield page("first", 30)
        yield page("second", 30)
        raise LookupError("the next part could not be read")

    with pytest.raises(LookupError):
        write_parts(parts(), io.BytesIO(), margins, processes=2)
    assert len(started) == 2 and all(p.returncode is not None for p in started)
    assert children() == []


@pytest.mark.usefixtures("catalog")
def test_one_process_or_one_part_starts_no_process(compliance_officer, settings, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a process was started")

    workforce()
    monkeypatch.setattr(pdf_worker.subprocess, "Popen", refuse)
    settings.REPORT_RENDER_PROCESSES = 1
    data = render_report(ExportFilters(), chunk_people=CHUNK)
    assert "page 1 of" in pages_text(data)[0]
    assert write_parts([page("alone")], io.BytesIO(), margins, processes=2) == 1
    # Everyone in one part a section (a small company's report): laid out here, no process to start.
    settings.REPORT_RENDER_PROCESSES = 2
    assert "page 1 of" in pages_text(render_report(ExportFilters(), chunk_people=10_000))[0]


def test_a_child_fetches_only_the_static_files_and_its_warnings_are_logged_here(started, caplog):
    # The renderers' logger at WARNING whatever an earlier test left the root logger at (a Celery worker's setup).
    caplog.set_level(logging.WARNING, logger="hipaa_training.pdf_worker")
    leak = page("secret") + '<img src="file:///etc/passwd"><img src="https://example.com/x.png">'
    assert write_parts([page("first"), leak], io.BytesIO(), margins, processes=2) == 2
    assert len(started) == 2
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "hipaa_training.pdf_worker")
    assert "refused to fetch 'file:///etc/passwd'" in said
    assert "refused to fetch 'https://example.com/x.png'" in said


KILLED_PARENT = """
import contextlib
import io
import django
django.setup()
from hipaa_training.pdf_worker import RenderPool
from records.documents.parts import write_parts
start = RenderPool._start
def spy(pool):
    child = start(pool)
    print(child.process.pid, flush=True)
    return child
RenderPool._start = spy
long = "".join(f'<p style="break-before: page">page {n}</p>' for n in range(1500))
write_parts([long, long, long], io.BytesIO(), lambda landscape: "<p>m</p>", processes=2)
"""


def test_the_children_end_with_a_parent_killed_outright():
    """A Celery hard time limit kills the worker's process mid-report: its renderers do not render on."""
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT], stdout=subprocess.PIPE, text=True, cwd=pdf_worker.PROJECT_ROOT
    )
    assert parent.stdout is not None
    pids = [int(parent.stdout.readline()) for _ in range(2)]
    time.sleep(1)  # the children started and rendering
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
