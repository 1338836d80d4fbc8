"""PDF renderer processes: HTML documents rendered side by side in child processes, for a PDF made of parts.

`python -m hipaa_training.pdf_worker` is the child: it sets Django up (the parent's DJANGO_SETTINGS_MODULE, for the
static finders the stylesheets and StaticOnlyFetcher read) and renders one job a line from stdin, a JSON object
naming an HTML file to read and a PDF file to write, with `hipaa_training.pdf.render_pdf` (so with the same
StaticOnlyFetcher as in the parent); it answers one JSON line a job, `{"ok": true}` or `{"error": traceback}`, and
stops at the end of stdin. `RenderPool` is the parent's side: it starts up to N such children as it needs them,
hands each a job when it is free and raises a child's error in the parent.

Child processes, not multiprocessing: the report is built in a Celery prefork worker, whose daemonic processes may
not start multiprocessing children. A parent killed outright takes its children with it (on Linux, by
PR_SET_PDEATHSIG; elsewhere they stop at the end of their render, when their stdin closes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PARENT = "HIPAA_PDF_WORKER_PARENT"  # the parent's pid, in the child's environment
PR_SET_PDEATHSIG = 1
STOP_SECONDS = 10  # a child's wait to finish after its stdin is closed, before it is killed


class RenderError(RuntimeError):
    """A document could not be rendered in a child process (its error text, or how the child ended)."""


@dataclass
class _Child:
    process: subprocess.Popen[str]
    stderr: IO[bytes]
    job: tuple[int, Path] | None = None  # the part it is rendering and its HTML file
    since: float = 0.0  # when it was given that part (time.monotonic)

    def said(self) -> str:
        """What the child wrote to stderr (its logs, or the traceback it died of)."""
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace").strip()


@dataclass
class RenderPool:
    """Up to `processes` child renderers, each given one document at a time; a context manager that stops them
    (on an exception at once, killed) and raises, in `submit` or `join`, a child's error as a RenderError, and
    one for a document not rendered within `timeout` seconds of being handed over (its child killed)."""

    processes: int
    timeout: float | None = None
    _children: list[_Child] = field(default_factory=list)
    _selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop(kill=kind is not None)

    def submit(
        self,
        index: int,
        html: Path,
        pdf: Path,
        *,
        stylesheets: tuple[str, ...] = (),
        user_agent_stylesheet: str | None = None,
    ) -> None:
        """Render the HTML file `html` to the PDF file `pdf` in a free child (started if fewer than `processes`
        are running, waited for if not); `html` is deleted once rendered."""
        child = self._free() or (self._start() if len(self._children) < self.processes else None)
        while child is None:
            self._collect()
            child = self._free()
        job = {"html": str(html), "pdf": str(pdf), "stylesheets": list(stylesheets), "ua": user_agent_stylesheet}
        assert child.process.stdin is not None
        try:
            child.process.stdin.write(json.dumps(job) + "\n")
            child.process.stdin.flush()
        except BrokenPipeError:
            raise self._died(child, index) from None
        child.job, child.since = (index, html), time.monotonic()

    def join(self) -> None:
        """Wait until every document submitted is rendered."""
        while any(child.job for child in self._children):
            self._collect()

    def stop(self, *, kill: bool = False) -> None:
        """Stop every child: at the end of its stdin, or killed; none is left running."""
        for child in self._children:
            with contextlib.suppress(OSError):  # a child that died, its pipe broken
                if kill:
                    child.process.kill()
                elif child.process.stdin is not None:
                    child.process.stdin.close()
        for child in self._children:
            _wait(child.process)
            for stream in (child.process.stdin, child.process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            said = child.said()
            if said and not kill:
                log.warning("PDF renderer %d: %s", child.process.pid, said)
            child.stderr.close()
        self._children.clear()
        self._selector.close()

    def _start(self) -> _Child:
        settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "hipaa_training.settings")
        path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the child's, closed by stop)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "hipaa_training.pdf_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                encoding="utf-8",
                env={
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": settings_module,
                    "PYTHONPATH": path,
                    PARENT: str(os.getpid()),
                },
                cwd=PROJECT_ROOT,
            )
        except BaseException:
            stderr.close()
            raise
        child = _Child(process, stderr)
        self._children.append(child)
        assert process.stdout is not None
        self._selector.register(process.stdout, selectors.EVENT_READ, child)
        return child

    def _free(self) -> _Child | None:
        return next((child for child in self._children if child.job is None), None)

    def _collect(self) -> None:
        """Wait for at least one child's answer; raise the error it gives, that it ended without one, or that it
        is past the timeout."""
        wait = None
        busy = [child for child in self._children if child.job]
        if self.timeout is not None and busy:
            late = min(busy, key=lambda child: child.since)
            wait = late.since + self.timeout - time.monotonic()
            if wait <= 0:  # killed here; the others are stopped on the way out (__exit__)
                late.process.kill()
                index = late.job[0] if late.job else None
                pid = late.process.pid
                raise RenderError(f"part {index} was not rendered within {self.timeout:g} s by PDF renderer {pid}")
        for key, _ in self._selector.select(wait):
            child: _Child = key.data
            assert child.process.stdout is not None
            line = child.process.stdout.readline()
            index = child.job[0] if child.job else None
            if not line:
                raise self._died(child, index)
            answer = json.loads(line)
            if "error" in answer:
                pid = child.process.pid
                raise RenderError(f"part {index} failed to render in PDF renderer {pid}:\n{answer['error']}")
            if child.job:
                child.job[1].unlink(missing_ok=True)
            child.job = None

    def _died(self, child: _Child, index: int | None) -> RenderError:
        code = _wait(child.process)
        doing = f" while rendering part {index}" if index is not None else ""
        return RenderError(f"PDF renderer {child.process.pid} ended (exit status {code}){doing}:\n{child.said()}")


def _wait(process: subprocess.Popen[str]) -> int:
    """The exit status of `process`, killed if it has not ended within STOP_SECONDS."""
    try:
        return process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def serve(jobs: IO[str], answers: IO[str]) -> None:
    """The child's loop: render each job of `jobs` and answer it on `answers`, until `jobs` ends."""
    from hipaa_training.pdf import render_pdf

    for line in jobs:
        try:
            job = json.loads(line)
            html = Path(job["html"]).read_text(encoding="utf-8")
            data = render_pdf(html, stylesheets=tuple(job["stylesheets"]), user_agent_stylesheet=job["ua"])
            Path(job["pdf"]).write_bytes(data)
            answer: dict[str, object] = {"ok": True}
        except Exception:
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def _end_with_parent() -> None:
    """On Linux, be killed when the parent ends, even killed outright (a Celery hard time limit) mid-render."""
    if not sys.platform.startswith("linux"):
        return  # elsewhere the child ends at the end of its render, when its stdin closes
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.environ.get(PARENT) not in (None, str(os.getppid())):
        os._exit(1)  # it ended before prctl


def main() -> None:
    _end_with_parent()
    # The answers go to the parent on the real stdout; anything else printed goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import django

    django.setup()
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
