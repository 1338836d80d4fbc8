from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_in_production_mode():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        PRODUCTION="1",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-for-the-test-only",
        ALLOWED_HOSTS="training.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", PRODUCTION="1", ALLOWED_HOSTS="training.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when PRODUCTION=1" in result.stderr


def test_docker_compose_describes_the_production_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"web", "worker", "beat", "db", "redis", "mail"}
    assert "gunicorn hipaa_training.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A hipaa_training worker")
    assert services["beat"]["command"].startswith("celery -A hipaa_training beat")
    assert services["db"]["image"].startswith("postgres")
    assert services["redis"]["image"].startswith("redis")
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "libharfbuzz-subset0" in dockerfile


@pytest.mark.django_db
def test_healthz_reports_the_database_the_cache_and_the_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert body["broker"] in ("ok", "in-process")


@pytest.mark.django_db
def test_healthz_with_the_broker_down_is_degraded_not_failing(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 200  # the product still works: the load balancer keeps sending
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"].startswith("error")
    assert body["database"] == "ok" and body["cache"] == "ok"


@pytest.mark.django_db
def test_healthz_with_a_cache_that_is_down_is_degraded(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["cache"].startswith("error")


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_gone(client, monkeypatch):
    from django.db import connection
    from django.db.utils import OperationalError

    def gone(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", gone)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["database"].startswith("error")


def test_migrate_creates_the_cache_table(tmp_path):
    """`make run`, CI and production run migrate; the database cache's table comes with it."""
    import sqlite3

    database = tmp_path / "fresh.sqlite3"
    result = _manage("migrate", "--noinput", DATABASE_URL=f"sqlite:///{database}", VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    tables = {row[0] for row in sqlite3.connect(database).execute("SELECT name FROM sqlite_master")}
    assert "django_cache" in tables


def test_the_products_flush_refuses_and_the_evidence_stays(tmp_path):
    import sqlite3

    database = tmp_path / "fresh.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "VAR_DIR": str(tmp_path)}
    assert _manage("migrate", "--noinput", **env).returncode == 0
    assert _manage("load_default_roles", **env).returncode == 0
    events = sqlite3.connect(database).execute("SELECT count(*) FROM hipaa_training_auditevent").fetchone()[0]
    assert events > 0
    result = _manage("flush", "--noinput", **env)
    assert result.returncode != 0
    assert "flush is refused" in result.stderr
    after = sqlite3.connect(database).execute("SELECT count(*) FROM hipaa_training_auditevent").fetchone()[0]
    assert after == events


def test_a_starting_celery_worker_loads_the_urlconf_before_its_first_task():
    """worker_init builds the link tables once, before the pool forks (a reminder run's first link cost 0.7 s)."""
    script = (
        "import sys, django; django.setup()\n"
        "from celery import signals\n"
        "import hipaa_training.celery\n"
        "from django.urls import get_resolver\n"
        "assert 'records.views' not in sys.modules and not get_resolver()._populated\n"
        "signals.worker_init.send(sender=None)\n"
        "assert 'records.views' in sys.modules and get_resolver()._populated\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "hipaa_training.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
