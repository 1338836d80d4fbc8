"""Corrected modules reach the workforce the way the law asks: load_catalog publishes them as material new
versions, and everyone whose completion was on the old version is assigned retraining (45 CFR
164.530(b)(2)(i)(C)), here for the whole demo company."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from courses.loader import content_hash, load_catalog
from courses.models import Course, CourseVersion
from records.models import Completion
from roles.models import Assignment

pytestmark = pytest.mark.usefixtures("catalog")

OLD_BULLET = (
    "- California's CMIA lets patients sue and gives facilities 15 business days to report unauthorised access."
)
NEW_BULLET = "- California's CMIA lets patients sue; a separate law, Health and Safety Code 1280.15"
CATALOG = Path(__file__).resolve().parents[2] / "courses" / "catalog"  # the repository's, whatever the settings say
STATE_LAW = Path("privacy-essentials") / "lessons" / "07-state-law-on-top-of-hipaa.md"


@pytest.fixture
def catalogue_before(tmp_path: Path) -> Path:
    """The catalogue as it read before the corrections: the CMIA slip back in, every module's note as before."""
    old = tmp_path / "catalog"
    shutil.copytree(CATALOG, old)
    lesson = old / STATE_LAW
    text = lesson.read_text(encoding="utf-8")
    start = text.index(NEW_BULLET)
    lesson.write_text(text[:start] + OLD_BULLET + text[text.index("\n", start) :], encoding="utf-8")
    for meta in old.glob("*/course.toml"):
        lines = meta.read_text(encoding="utf-8").splitlines(keepends=True)
        lines = [
            'change_note = "As published before the review."\n' if ln.startswith("change_note") else ln for ln in lines
        ]
        meta.write_text("".join(lines), encoding="utf-8")
    return old


def test_corrected_modules_are_material_new_versions_and_the_demo_is_retrained(settings, catalogue_before):
    settings.CATALOG_DIR = catalogue_before
    call_command("seed_demo", stdout=io.StringIO())  # the demo company takes its modules on the old catalogue
    old = {v.course.slug: v for v in CourseVersion.objects.current().select_related("course")}
    done_on_old = list(
        Completion.objects.filter(version__in=old.values(), user__is_active=True).select_related("assignment")
    )
    assert len(done_on_old) >= 10 and {"security-awareness", "privacy-essentials"} <= {
        c.version.course.slug for c in done_on_old
    }
    assert OLD_BULLET in old["privacy-essentials"].lessons.get(position=7).body_markdown
    completions, open_before = Completion.objects.count(), set(Assignment.objects.open().values_list("pk", flat=True))
    # The demo's year has its own retraining wave already; what the load adds is what is new.
    earlier_retraining = set(Assignment.objects.filter(reason=Assignment.NEW_VERSION).values_list("pk", flat=True))
    open_modules = set(Assignment.objects.open().values_list("user_id", "course_id"))
    last_cycle = {(a.user_id, a.course_id): a.cycle for a in Assignment.objects.order_by("cycle")}

    with TestCase.captureOnCommitCallbacks(execute=True):  # the publication's signal runs after its commit
        results = {r.slug: r for r in load_catalog(CATALOG)}

    today = timezone.localdate()
    for slug, version in old.items():
        new = CourseVersion.objects.current_for(Course.objects.get(slug=slug))
        assert results[slug].published and new.number == version.number + 1, slug
        assert new.material and new.content_hash == content_hash(CATALOG / slug)
        assert new.change_note != "As published before the review."
    assert (
        "Health and Safety Code 1280.15"
        in CourseVersion.objects.current_for(Course.objects.get(slug="privacy-essentials"))
        .lessons.get(position=7)
        .body_markdown
    )

    retraining = Assignment.objects.filter(reason=Assignment.NEW_VERSION).exclude(pk__in=earlier_retraining)
    trained = {(c.user_id, c.assignment.course_id) for c in done_on_old}
    # Everyone trained on an old version is retrained, once, in their next cycle; an open module already covers it.
    expected = {(*key, last_cycle[key] + 1) for key in trained - open_modules}
    assert len(expected) >= 10
    assert set(retraining.values_list("user_id", "course_id", "cycle")) == expected
    assert all(a.is_open and a.due_on == today + dt.timedelta(days=30) for a in retraining)
    # Nobody with the module still open is assigned it twice; the old completions stay as they were.
    assert set(Assignment.objects.open().exclude(reason=Assignment.NEW_VERSION).values_list("pk", flat=True)) == (
        open_before
    )
    assert Completion.objects.count() == completions
    assert all(Completion.objects.get(pk=c.pk).version_id == c.version_id for c in done_on_old)
