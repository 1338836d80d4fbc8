"""The client's address, the same for every caller: sign-in limits, the /verify/ limit, audit events, and the
address recorded on an attestation or a bulletin acknowledgement.

Behind TLS proxies, REMOTE_ADDR is the nearest proxy's. ALLAUTH_TRUSTED_PROXY_COUNT (environment:
TRUSTED_PROXY_COUNT) says how many proxies in front of the product are ours: each appends the address it was
reached from to X-Forwarded-For, so the client is the entry that many places from the right. Entries further
left were written by the client and are never believed. 0 (the default): no proxy, REMOTE_ADDR is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _clean(value: str) -> str:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return ""


def client_ip(request: HttpRequest | None) -> str:
    """The client's address ("" when there is no request or no usable address)."""
    if request is None:
        return ""
    remote = _clean(request.META.get("REMOTE_ADDR", ""))
    trusted = int(getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < trusted:
        # Fewer entries than our proxies would have written: the request did not come through them all, and
        # the nearest hop we can vouch for is the socket's.
        return remote
    return _clean(hops[-trusted]) or remote
