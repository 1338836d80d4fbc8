from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """What only the test suite may do (the flush that lifts the evidence triggers)."""

    name = "tests.testapp"
    label = "hipaa_tests"
