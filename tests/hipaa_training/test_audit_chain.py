"""Tampering behind the product's back, as an attacker with database access would: triggers dropped, raw SQL.

Each case must be detected at the right sequence number, with the right word.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from hipaa_training import anchor, audit, verify
from hipaa_training.db import drop_triggers
from hipaa_training.models import AuditEvent, AuditVerification

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def renumber(seq_from: int, seq_to: int) -> None:
    sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [seq_to, seq_from])


def rehash(event: AuditEvent) -> None:
    """What a careful attacker does after editing a row: recompute its hash (and keep its links)."""
    event.hash = audit.event_hash(event)
    sql(
        f"UPDATE {TABLE} SET action = %s, prev_hash = %s, hash = %s WHERE seq = %s",
        [event.action, event.prev_hash, event.hash, event.seq],
    )


@pytest.fixture
def chain() -> list[int]:
    """Ten events on top of whatever the database holds; the triggers are dropped (rolled back after the test)."""
    for n in range(10):
        audit.record("test.event", data={"n": n, "note": "ünïcode ✓", "nested": {"b": [1, 2.5, None], "a": True}})
    assert verify.verify().ok
    drop_triggers(connection)
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def edit_field(seqs: list[int]) -> int:
    k = seqs[-5]
    sql(f"UPDATE {TABLE} SET actor_label = 'someone.else@example.test' WHERE seq = %s", [k])
    return k


def edit_and_rehash(seqs: list[int]) -> int:
    k = seqs[-5]
    event = AuditEvent.objects.get(seq=k)
    event.action = "auth.logout"
    rehash(event)
    return k


def delete_row(seqs: list[int]) -> int:
    k = seqs[-5]
    sql(f"DELETE FROM {TABLE} WHERE seq = %s", [k])
    return k


def delete_and_renumber(seqs: list[int]) -> int:
    k = seqs[-5]
    sql(f"DELETE FROM {TABLE} WHERE seq = %s", [k])
    for seq in seqs[seqs.index(k) + 1 :]:
        renumber(seq, seq - 1)
    return k


def _make_room_after(seqs: list[int], k: int) -> None:
    for seq in reversed(seqs[seqs.index(k) + 1 :]):
        renumber(seq, seq + 1)


def insert_forged_row(seqs: list[int]) -> int:
    """Later rows moved up one; a well-formed event chained to its predecessor slipped in."""
    k = seqs[-5]
    _make_room_after(seqs, k)
    before = AuditEvent.objects.get(seq=k)
    forged = AuditEvent(
        seq=k + 1,
        at=before.at,
        actor_label="system",
        action="auth.login",
        data={"ip": "10.0.0.1"},
        prev_hash=before.hash,
    )
    forged.hash = audit.event_hash(forged)
    AuditEvent.objects.bulk_create([forged])
    return k + 1


def insert_clumsy_row(seqs: list[int]) -> int:
    k = seqs[-5]
    _make_room_after(seqs, k)
    AuditEvent.objects.bulk_create(
        [AuditEvent(seq=k + 1, at=dt.datetime.now(dt.UTC), action="auth.login", prev_hash="0" * 64, hash="f" * 64)]
    )
    return k + 1


def swap_rows(seqs: list[int]) -> int:
    k = seqs[-5]
    renumber(k, -1)
    renumber(k + 1, k)
    renumber(-1, k + 1)
    return k


def delete_first_row(seqs: list[int]) -> int:
    sql(f"DELETE FROM {TABLE} WHERE seq = 1")
    return 1


@pytest.mark.parametrize(
    "tamper, kind",
    [
        (edit_field, verify.CHANGED),
        (edit_and_rehash, verify.CHANGED),
        (delete_row, verify.MISSING),
        (delete_and_renumber, verify.MISSING),
        (delete_first_row, verify.MISSING),
        (insert_forged_row, verify.INSERTED),
        (insert_clumsy_row, verify.INSERTED),
        (swap_rows, verify.OUT_OF_ORDER),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_tampering_is_detected_at_the_first_bad_seq(chain, tamper, kind):
    bad_seq = tamper(chain)

    result = verify.verify()

    assert result.problem is not None, "tampering went unnoticed"
    assert (result.problem.seq, result.problem.kind) == (bad_seq, kind), result.problem
    with pytest.raises(CommandError, match=rf"BROKEN at seq {bad_seq}: {kind}\."):
        call_command("verify_audit_chain")


def test_a_whole_chain_prints_its_count_and_head(capsys):
    for n in range(3):
        audit.record("test.event", data={"n": n})
    head = audit.head()
    call_command("verify_audit_chain")
    out = capsys.readouterr().out
    assert f"{AuditEvent.objects.count()} events, head #{head.seq} {head.hash}" in out


def test_the_fast_verifier_hashes_exactly_as_audit_record_does():
    """Odd data and a time with no fraction of a second (stored without one by SQLite) still verify."""
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC), tick=False):
        audit.record("test.exact_second", data={"quote": 'a "b" \\ c', "emoji": "🔒", "float": 0.1, "big": 2**60})
    audit.record("test.empty")
    audit.record_many([audit.Event("test.many", data={"i": i, "z": {"y": [], "x": {}}}) for i in range(3)])
    event = AuditEvent.objects.get(action="test.exact_second")
    assert event.at.microsecond == 0
    assert verify.verify().ok


# --- anchors: the rewrite a chain cannot catch by itself ---


def _events(n: int) -> None:
    for i in range(n):
        audit.record("test.event", data={"i": i})


def rewrite_from(seq: int) -> None:
    """Edit one event and recompute every hash and link after it: the chain checks out by itself."""
    drop_triggers(connection)
    prev = AuditEvent.objects.get(seq=seq).prev_hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.action = "auth.logout"
        event.prev_hash = prev
        rehash(event)
        prev = event.hash


def test_a_rewrite_of_the_whole_chain_is_caught_by_the_anchors():
    _events(5)
    call_command("audit_anchor")
    first_anchor = audit.head().seq
    _events(5)
    call_command("audit_anchor")
    assert verify.verify().anchors_checked == 2

    rewrite_from(first_anchor - 2)

    assert verify.verify(anchors=[]).ok, "without anchors the rewritten chain checks out"
    problem = verify.verify().problem
    assert (problem.seq, problem.kind) == (first_anchor, verify.CHANGED)
    assert "rewritten" in problem.detail


def test_deleting_the_newest_events_is_caught_by_the_anchor():
    _events(6)
    call_command("audit_anchor")
    head = audit.head().seq
    drop_triggers(connection)
    sql(f"DELETE FROM {TABLE} WHERE seq > %s", [head - 3])

    problem = verify.verify().problem

    assert (problem.seq, problem.kind) == (head - 2, verify.MISSING)


def test_a_forged_anchor_is_reported(settings):
    _events(2)
    call_command("audit_anchor")
    entry = anchor.latest_anchor()
    forged = {**entry, "seq": entry["seq"] - 1, "hash": "0" * 64}
    with open(settings.AUDIT_ANCHOR_LOG, "a") as log:
        log.write(json.dumps(forged) + "\n")

    problem = verify.verify().problem

    assert problem.kind == verify.BAD_ANCHOR


def test_an_anchor_signed_with_another_key_is_refused(settings):
    _events(1)
    call_command("audit_anchor")
    settings.AUDIT_ANCHOR_KEY = "a different key"
    assert verify.verify().problem.kind == verify.BAD_ANCHOR


def test_latest_anchor_describes_the_signed_head(settings):
    assert anchor.latest_anchor() is None
    _events(3)
    call_command("audit_anchor")
    entry = anchor.latest_anchor()
    head = audit.head()
    assert (entry["seq"], entry["hash"], entry["algorithm"]) == (head.seq, head.hash, "HMAC-SHA256")
    assert entry["at"] and len(entry["signature"]) == 64
    assert settings.AUDIT_ANCHOR_LOG.read_text().count("\n") == 1


def test_a_broken_chain_is_not_anchored(settings):
    _events(3)
    drop_triggers(connection)
    sql(f"UPDATE {TABLE} SET action = 'x' WHERE seq = %s", [audit.head().seq])
    with pytest.raises(CommandError, match="Not anchored"):
        call_command("audit_anchor")
    assert anchor.latest_anchor() is None


def test_the_key_file_is_generated_private_in_development(settings, tmp_path):
    settings.AUDIT_ANCHOR_KEY = ""
    settings.AUDIT_ANCHOR_KEY_FILE = tmp_path / "keys" / "anchor.key"
    _events(1)
    call_command("audit_anchor")
    assert settings.AUDIT_ANCHOR_KEY_FILE.stat().st_mode & 0o777 == 0o600
    assert verify.verify().anchors_checked == 1


def test_production_refuses_to_anchor_without_a_key(settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    settings.AUDIT_ANCHOR_KEY = ""
    settings.AUDIT_ANCHOR_KEY_FILE = tmp_path / "missing.key"
    settings.PRODUCTION = True
    _events(1)
    with pytest.raises(ImproperlyConfigured, match="AUDIT_ANCHOR_KEY"):
        call_command("audit_anchor")


# --- the nightly check ---


def test_the_nightly_task_verifies_anchors_and_records_the_outcome():
    from hipaa_training.tasks import verify_audit_chain_task

    _events(2)
    verify_audit_chain_task.delay()

    outcome = AuditVerification.objects.get()
    head = audit.head()
    assert (outcome.ok, outcome.head_seq, outcome.anchored_seq) == (True, head.seq, head.seq)
    assert anchor.latest_anchor()["seq"] == head.seq


def test_the_nightly_task_records_a_broken_chain_and_does_not_anchor_it():
    from hipaa_training.tasks import verify_audit_chain_task

    _events(4)
    k = audit.head().seq - 1
    drop_triggers(connection)
    sql(f"DELETE FROM {TABLE} WHERE seq = %s", [k])
    verify_audit_chain_task.delay()

    outcome = AuditVerification.objects.get()
    assert (outcome.ok, outcome.problem_seq, outcome.problem_kind) == (False, k, verify.MISSING)
    assert outcome.anchored_seq is None and anchor.latest_anchor() is None


def test_the_nightly_check_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["verify-audit-chain"]
    assert entry["task"] == "hipaa_training.verify_audit_chain"


# --- concurrency ---


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_threads_appending_at_once_leave_one_gap_free_chain():
    start = AuditEvent.objects.count()
    per_thread = 60
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    audit.record("test.concurrent", data={"writer": name, "i": i})
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, start + 2 * per_thread + 1))
    writers = list(AuditEvent.objects.filter(action="test.concurrent").values_list("data__writer", flat=True))
    assert writers.count("a") == writers.count("b") == per_thread
    assert len(set(writers[:per_thread])) == 2, "the two writers never interleaved: the test proved nothing"
    result = verify.verify()
    assert result.ok, result.problem
