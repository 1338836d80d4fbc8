from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 with the database's state (and the broker's, where one is configured); 503 when one is down."""
    status: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:  # report, never raise
        status["database"] = f"error: {type(exc).__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
            status["broker"] = "ok"
        except Exception as exc:
            status["broker"] = f"error: {type(exc).__name__}"
    else:
        status["broker"] = "in-process"
    healthy = all(v in ("ok", "in-process") for v in status.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **status}, status=200 if healthy else 503)
