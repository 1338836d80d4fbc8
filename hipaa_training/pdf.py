"""HTML to PDF with WeasyPrint, fetching nothing but the project's own static files.

One FontConfiguration per process, reused across renders (the expensive part on a warm worker).
Callers: records/certificates.py and the report module, always from a Celery task, never in a view.
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


def render_pdf(html: str, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render `html` to PDF bytes; relative URLs are the project's static files (e.g. "css/certificate.css")."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher or StaticOnlyFetcher())
    return document.write_pdf(font_config=font_config())
