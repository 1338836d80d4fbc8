from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from roles.models import Department, User, WorkforceRole

PASSWORD = "correct horse battery staple"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A person as the ORM sees them: no assignments are made (use roles.services for that)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    hire_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=365))
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def groups(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        for name in extracted or []:
            self.groups.add(Group.objects.get(name=name))


def role(slug: str) -> WorkforceRole:
    return WorkforceRole.objects.get(slug=slug)
