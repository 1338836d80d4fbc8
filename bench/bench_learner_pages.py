"""Learner pages (`/training/`, a lesson) at 100 requests a second: gunicorn with 3 workers, signed-in learners.

    DATABASE_URL=postgres://... python bench/bench_learner_pages.py
    BENCH_PEOPLE=100000 BENCH_SECONDS=30 python bench/bench_learner_pages.py --rate 100
    python bench/bench_learner_pages.py --app-dir /work/main      # serve another checkout's code (same database)

A throw-away database with BENCH_PEOPLE people (3 modules each), BENCH_LEARNERS of them signed in (a session
each). gunicorn (3 sync workers, DEBUG off) serves it; a second process sends an open-loop load: requests leave
on schedule at --rate a second whatever the answers, spread over the learners, and each latency counts from the
moment its request was due (queueing included). The floor is the same page alone: the same server, one request
at a time, nothing else running. Also: the queries one request reads, middleware and page (in-process client).

`rows()` returns the figures as dicts (measure, figure, floor, ratio, goal, met) for the summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# The load generator runs before Django is set up (it is a plain HTTP client in its own process).
if __name__ == "__main__" and "--load" in sys.argv:
    LOAD_MODE = True
else:
    LOAD_MODE = False
    # The server and this process sign the same sessions.
    os.environ.setdefault("SECRET_KEY", "bench-learner-pages-" + secrets.token_hex(16))

GOAL_P95_MS = 100.0
GOAL_MIDDLEWARE_QUERIES = 4
WORKERS = 3


# What the middleware reads (today's and before issue 14's): session, person, cache, allauth's session record
# (in a savepoint), groups, policy, authenticators.
MIDDLEWARE_MARKS = (
    'FROM "django_session"',
    'SELECT "roles_user"."id"',
    'FROM "django_cache"',
    "usersessions_usersession",
    'FROM "auth_group"',
    "roles_securitypolicy",
    "mfa_authenticator",
    "SAVEPOINT",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the load generator (second process) ---------------------------------------------------------------------
def load(spec_path: str) -> None:
    """Open-loop load: request i leaves at start + i / rate; latency from that moment to the last byte."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    spec = json.loads(Path(spec_path).read_text())
    host, port, rate, seconds = spec["host"], spec["port"], spec["rate"], spec["seconds"]
    targets: list[tuple[str, str]] = [tuple(t) for t in spec["targets"]]  # type: ignore[misc]
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(due: float, path: str, cookie: str) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            local.conn = None
            status = 0
            with lock:
                errors.append(repr(exc))
        took = (time.perf_counter() - due) * 1000
        with lock:
            latencies.append(took)
            if status != 200:
                errors.append(f"{status} {path}")

    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=spec.get("threads", 64)) as pool:
        start = time.perf_counter() + 0.2
        for i in range(total):
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            path, cookie = targets[i % len(targets)]
            pool.submit(one, due, path, cookie)
    elapsed = time.perf_counter() - start
    print(json.dumps({"latencies_ms": latencies, "errors": errors[:20], "error_count": len(errors), "s": elapsed}))


if LOAD_MODE:
    load(sys.argv[sys.argv.index("--load") + 1])
    sys.exit(0)


# --- the benchmark --------------------------------------------------------------------------------------------
from _table import record  # noqa: E402
from _workforce import ROOT, backend, make_workforce, scratch_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    from django.db import connection

    d = connection.settings_dict
    user = d["USER"] + (f":{d['PASSWORD']}" if d["PASSWORD"] else "")
    return f"postgres://{user}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def sign_in(learners: int) -> list[dict[str, Any]]:
    """A session for each of the first `learners` people, as a password sign-in leaves it; their page URLs."""
    from django.test import Client

    from roles.models import User

    people = []
    for person in User.objects.filter(email__startswith="bench", is_active=True).order_by("pk")[:learners]:
        client = Client()
        client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
        assignment = person.assignments.filter(cancelled_at__isnull=True).order_by("pk").first()
        assert assignment is not None
        people.append(
            {
                "cookie": f"sessionid={client.cookies['sessionid'].value}",
                "client": client,
                "training": "/training/",
                "lesson": f"/training/{assignment.pk}/lessons/1/",
            }
        )
    return people


def queries_of(people: list[dict[str, Any]], page: str) -> dict[str, int]:
    """Queries of one request (a warm session) in-process: all, and the middleware's (before the view runs)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = people[0]["client"]
    client.get(people[0][page])  # warm: the session's first page records it and fills the cache
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(people[0][page]).status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    middleware = [q for q in sql if any(m in q for m in MIDDLEWARE_MARKS)]
    return {"all": len(sql), "middleware": len(middleware)}


def serve(app_dir: Path, url: str, port: int, threads: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "hipaa_training.settings",
        "DEBUG": "0",
        "PYTHONPATH": str(app_dir),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "hipaa_training.wsgi:application",
            "--workers",
            str(WORKERS),
            "--threads",  # 1: sync workers, as the Dockerfile runs them; more: gthread
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=app_dir,
        env=env,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def floor_ms(port: int, targets: list[tuple[str, str]], runs: int) -> dict[str, float]:
    """The same pages alone: one request at a time on a kept-alive connection (after a warm-up of each worker)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for i in range(runs + 3 * WORKERS):
        path, cookie = targets[i % len(targets)]
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (response.status, path)
        if i >= 3 * WORKERS:
            times.append((time.perf_counter() - t0) * 1000)
        # gunicorn's sync workers close the connection after each response
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return {"median": statistics.median(times), "p95": percentile(times, 0.95)}


def under_load(port: int, targets: list[tuple[str, str]], rate: float, seconds: float) -> dict[str, Any]:
    spec = Path(ROOT / "var" / f"bench-load-{os.getpid()}.json")
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(
        json.dumps({"host": "127.0.0.1", "port": port, "rate": rate, "seconds": seconds, "targets": targets})
    )
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--load", str(spec)], capture_output=True, check=True, text=True
        ).stdout
    finally:
        spec.unlink(missing_ok=True)
    result = json.loads(out)
    lat = result["latencies_ms"]
    return {
        "p50": statistics.median(lat),
        "p95": percentile(lat, 0.95),
        "p99": percentile(lat, 0.99),
        "requests": len(lat),
        "errors": result["error_count"],
        "error_sample": result["errors"][:3],
        "achieved_rate": len(lat) / result["s"],
    }


def measure(
    people: int,
    learners: int,
    rate: float,
    seconds: float,
    app_dir: Path = ROOT,
    floor_runs: int = 60,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Build the data, serve it, load it; the rows for each page (and the middleware's query count)."""
    rows: list[dict[str, Any]] = []
    with scratch_database():
        made = make_workforce(people)
        print(
            f"{people:,} people, {made['assignments']:,} assignments ({made['seconds']:.1f} s); "
            f"{learners} learners signed in"
        )
        signed_in = sign_in(learners)
        counts = {page: queries_of(signed_in, page) for page in ("training", "lesson")}
        port = free_port()
        server = serve(app_dir, database_url(), port, threads)
        try:
            for page, label in (("training", "/training/"), ("lesson", "a lesson page")):
                targets = [(p[page], p["cookie"]) for p in signed_in]
                floor = floor_ms(port, targets, floor_runs)
                loaded = under_load(port, targets, rate, seconds)
                ratio = loaded["p95"] / floor["median"]
                print(
                    f"  {label:>14}: p95 {loaded['p95']:7.1f} ms at {loaded['achieved_rate']:.0f} req/s "
                    f"(p50 {loaded['p50']:.1f}, p99 {loaded['p99']:.1f}, {loaded['requests']} requests, "
                    f"{loaded['errors']} errors {loaded['error_sample']}) | floor alone: median "
                    f"{floor['median']:.1f} ms (p95 {floor['p95']:.1f}) | ratio {ratio:.1f}x | "
                    f"{counts[page]['all']} queries, {counts[page]['middleware']} in middleware"
                )
                record(
                    f"learner {label} at {rate:.0f} req/s, gunicorn {WORKERS}x{threads}, p95 "
                    f"({counts[page]['middleware']} middleware queries)",
                    loaded["p95"],
                    unit="ms",
                    floor=floor["median"],
                    goal=f"p95 under {GOAL_P95_MS:.0f} ms, at most 4 middleware queries",
                    met=loaded["p95"] < GOAL_P95_MS and loaded["errors"] == 0 and counts[page]["middleware"] <= 4,
                )
                rows.append(
                    {
                        "measure": f"learner {label} at {rate:.0f} req/s, gunicorn {WORKERS}x{threads}, p95",
                        "figure": f"{loaded['p95']:.1f} ms",
                        "floor": f"{floor['median']:.1f} ms (the page alone)",
                        "ratio": f"{ratio:.1f}x",
                        "goal": f"p95 under {GOAL_P95_MS:.0f} ms",
                        "met": loaded["p95"] < GOAL_P95_MS and loaded["errors"] == 0,
                    }
                )
                rows.append(
                    {
                        "measure": f"learner {label}: queries a request",
                        "figure": f"{counts[page]['all']} ({counts[page]['middleware']} in middleware)",
                        "floor": "session + person",
                        "ratio": "-",
                        "goal": f"at most {GOAL_MIDDLEWARE_QUERIES} in middleware",
                        "met": counts[page]["middleware"] <= GOAL_MIDDLEWARE_QUERIES,
                    }
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return rows


def rows(
    people: int | None = None, learners: int | None = None, rate: float = 100, seconds: float | None = None
) -> list[dict[str, Any]]:
    """The benchmark's rows for the summary table: [{measure, figure, floor, ratio, goal, met}, ...]."""
    return measure(
        people or int(os.environ.get("BENCH_PEOPLE", 10_000)),
        learners or int(os.environ.get("BENCH_LEARNERS", 300)),
        rate,
        seconds or float(os.environ.get("BENCH_SECONDS", 20)),
        threads=int(os.environ.get("BENCH_THREADS", 1)),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=int(os.environ.get("BENCH_PEOPLE", 10_000)))
    parser.add_argument("--learners", type=int, default=int(os.environ.get("BENCH_LEARNERS", 300)))
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 20)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 1)))
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout gunicorn serves")
    args = parser.parse_args()
    if backend() != "PostgreSQL":
        print("bench_learner_pages: skipped, it needs PostgreSQL (set DATABASE_URL=postgres://...)")
        return
    print(f"learner pages benchmark on {backend()}, {os.cpu_count()} cores, serving {args.app_dir}")
    result = measure(args.people, args.learners, args.rate, args.seconds, args.app_dir, threads=args.threads)
    print()
    for row in result:
        print(
            f"  {row['measure']:<58} {row['figure']:>22}  floor {row['floor']:<26} {row['ratio']:>6}  "
            f"goal {row['goal']:<28} {'met' if row['met'] else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
