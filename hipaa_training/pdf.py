"""HTML to PDF with WeasyPrint, fetching nothing but the project's own static files.

One FontConfiguration per process, reused across renders (the expensive part on a warm worker).
Callers: records/certificates.py and the report module, always from a Celery task, never in a view; the report's
parts also in the child processes of hipaa_training/pdf_worker.py.
"""

from __future__ import annotations

import logging
import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.contrib.staticfiles import finders
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

# Relative URLs in a rendered document resolve against this base; only it is ever served.
STATIC_BASE = "https://static.hipaa-training.invalid/"


class BlockedFetch(ValueError):
    """A document asked for a resource outside the project's static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serves the project's static files (and data: URIs); refuses file://, the network and everything else.

    A template or a lesson cannot make the renderer read /etc/passwd or call out to another host.
    `refused` keeps what was asked for and refused, for the logs and the tests.
    """

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols={"data", "https"}, allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith(STATIC_BASE):
            relative = unquote(urlparse(url).path).lstrip("/")
            if ".." not in Path(relative).parts:
                found = finders.find(relative)
                if found:
                    path = Path(found)
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
        self.refused.append(url)
        log.warning("PDF rendering refused to fetch %r", url)
        raise BlockedFetch(f"refused to fetch {url!r}: only the project's static files may be used")


@lru_cache(maxsize=1)
def font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=16)
def stylesheet(path: str) -> Any:
    """A static stylesheet parsed once per process (parsing it was a tenth of a certificate's render)."""
    from weasyprint import CSS

    found = finders.find(path)
    if not found:
        raise BlockedFetch(f"no static stylesheet {path!r}")
    return CSS(
        string=Path(found).read_text(encoding="utf-8"),
        base_url=STATIC_BASE + path,
        url_fetcher=StaticOnlyFetcher(),
        font_config=font_config(),
    )


MINIMAL_UA = "css/pdf_minimal_ua.css"
# The training report's and the client's report's: the rules for the elements they use (a tenth of the bundle's
# render for 1,000 people was WeasyPrint's cascade of its full HTML stylesheet over every element).
REPORT_UA = "css/report_ua.css"


@lru_cache(maxsize=4)
def _html_class(user_agent_stylesheet: str | None) -> Any:
    from weasyprint import HTML

    if not user_agent_stylesheet:
        return HTML
    ua = stylesheet(user_agent_stylesheet)

    class _HTML(HTML):  # type: ignore[misc]
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [ua]

    return _HTML


def render_pdf(
    html: str,
    fetcher: StaticOnlyFetcher | None = None,
    *,
    stylesheets: tuple[str, ...] = (),
    user_agent_stylesheet: str | None = None,
) -> bytes:
    """Render `html` to PDF bytes; relative URLs are the project's static files (e.g. "css/certificate.css").

    `stylesheets` (static paths) are applied parsed once per process, in place of a <link> in the document;
    `user_agent_stylesheet` replaces WeasyPrint's HTML user-agent stylesheet (MINIMAL_UA: the certificate's,
    REPORT_UA: the reports')."""
    document = _html_class(user_agent_stylesheet)(
        string=html, base_url=STATIC_BASE, url_fetcher=fetcher or StaticOnlyFetcher()
    )
    return document.write_pdf(font_config=font_config(), stylesheets=[stylesheet(path) for path in stylesheets])
