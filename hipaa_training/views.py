from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _error(exc: Exception) -> str:
    return f"error: {type(exc).__name__}"


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The database's, the cache's and the broker's state, each on its own.

    503 only when the database is gone: without it nothing works. A cache or broker that is down degrades the
    product (tasks wait for the sweeps) but people still sign in and train, so the load balancer keeps sending.
    """
    status: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:  # report, never raise
        status["database"] = _error(exc)
    try:
        probe = uuid.uuid4().hex
        cache.set("healthz", probe, timeout=30)
        status["cache"] = "ok" if cache.get("healthz") == probe else "error: not stored"
    except Exception as exc:
        status["cache"] = _error(exc)
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
            status["broker"] = "ok"
        except Exception as exc:
            status["broker"] = _error(exc)
    else:
        status["broker"] = "in-process"
    if status["database"] != "ok":
        overall, code = "down", 503
    elif all(v in ("ok", "in-process") for v in status.values()):
        overall, code = "ok", 200
    else:
        overall, code = "degraded", 200
    return JsonResponse({"status": overall, **status}, status=code)
