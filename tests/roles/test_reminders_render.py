"""A reminder is rendered once per kind, module and due date, and the person's name put in afterwards (issue 14):
each e-mail must read exactly as a rendering of its own would, names with markup included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from roles.models import Assignment, Delivery
from roles.reminders.claimed import Claimed, ModuleAssignment, Person, Titled
from roles.reminders.mailer import Renderer, _NotInTheKey
from tests.conftest import make_person

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.mark.parametrize("kind", [Delivery.BEFORE_DUE, Delivery.DUE, Delivery.OVERDUE, Delivery.NUDGE])
@pytest.mark.parametrize("name", ["Billie Biller", 'Dana O\'Brien <b>&amp; "Co"</b>', "Zoë Ünal-Łukasz"])
def test_a_shared_rendering_reads_as_the_person_s_own(kind, name):
    person = make_person("billie@example.test", name)
    assignment = Assignment.objects.filter(user=person).select_related("course").first()
    assert assignment is not None
    today = dt.date(2026, 5, 4)
    renderer = Renderer("Acme Billing")
    own = renderer.render("reminder", {"person": person, "assignment": assignment, "kind": kind, "today": today})
    assert renderer.reminder(person, assignment, kind, today) == own
    other = make_person("second@example.test", "Sam Second")
    second = Assignment.objects.get(user=other, course=assignment.course)
    Assignment.objects.filter(pk=second.pk).update(due_on=assignment.due_on)
    second.refresh_from_db()
    shared = renderer.reminder(other, second, kind, today)  # from the cache: the first person's name is gone
    assert name not in shared[0] and "Sam Second" in shared[0] and "Sam Second" in shared[1]
    assert shared == renderer.render("reminder", {"person": other, "assignment": second, "kind": kind, "today": today})
    if "<b>" in name:
        assert "<b>" not in own[1] and "&lt;b&gt;" in own[1]


def test_a_template_reading_what_the_rendering_is_not_keyed_on_fails_loudly(settings, tmp_path):
    (tmp_path / "emails").mkdir()
    for ext in ("txt", "html"):
        (tmp_path / "emails" / f"reminder.{ext}").write_text("Hello {{ person.email }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path], "APP_DIRS": False}]
    person = make_person("billie@example.test", "Billie Biller")
    assignment = Assignment.objects.filter(user=person).first()
    with pytest.raises(_NotInTheKey):
        Renderer().reminder(person, assignment, Delivery.DUE, dt.date(2026, 5, 4))


def test_one_run_renders_each_kind_once_for_many_people(settings):
    from roles.reminders.schedule import reminders_send

    people = [make_person(f"p{i}@example.test", f"Person {i}") for i in range(6)]
    due = {a.due_on for a in Assignment.objects.filter(user__in=people)}
    renders = []
    from django.test.signals import template_rendered

    def seen(sender, template, **kwargs):
        renders.append(template.name)

    template_rendered.connect(seen)
    try:
        mail.outbox.clear()
        reminders_send(today=min(due))
    finally:
        template_rendered.disconnect(seen)
    reminders = [m for m in mail.outbox if "X-Training-Delivery" in m.extra_headers]
    assert len(reminders) >= 6
    assert {m.to[0] for m in reminders} == {p.email for p in people}
    for person in people:
        body = next(m.body for m in reminders if m.to == [person.email])
        assert f"Hello {person.full_name}," in body
    assert renders.count("emails/reminder.txt") < len(reminders)


@pytest.mark.parametrize("name", ["Olivia Officer", 'Dana O\'Brien <b>&amp; "Co"</b>', "Zoë Ünal-Łukasz"])
def test_the_officers_escalation_rendered_once_reads_as_each_officer_s_own(name):
    module = Titled(1, "HIPAA Privacy <essentials>")
    rows = [
        Claimed(
            pk,
            Delivery.OFFICER,
            "2026-W19",
            ModuleAssignment(pk, dt.date(2026, 4, 20), Person(pk, f"p{pk}@example.test", f"Person & {pk}"), module),
            None,
            None,
            None,
        )
        for pk in range(1, 4)
    ]
    context = {"items": rows, "level": "officer"}
    renderer = Renderer("Acme Billing")
    to_each = renderer.addressed("escalation", context, "recipient")
    for officer in (name, "Second Officer"):
        own = renderer.render("escalation", {**context, "recipient": Person(9, "o@example.test", officer)})
        assert to_each(officer) == own
        assert f"Hello {officer}," in own[0] and "Person & 3: HIPAA Privacy <essentials>" in own[0]
