"""Test settings: the real settings (the database cache included), with fast hashing and in-process tasks.

DATABASE_URL and REDIS_URL still choose the servers; tests that need the real broker switch it on.
"""

import tempfile
from pathlib import Path

from hipaa_training.settings import *  # noqa: F403

# First, so its `flush` (which lifts the evidence triggers between transactional tests) replaces the product's,
# which refuses.
INSTALLED_APPS = ["tests.testapp", *INSTALLED_APPS]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
_tmp = Path(tempfile.mkdtemp(prefix="hipaa-test-"))
MEDIA_ROOT = _tmp / "media"
AUDIT_ANCHOR_KEY = "test-anchor-key-not-secret"
AUDIT_ANCHOR_LOG = _tmp / "audit-anchors.jsonl"
SITE_URL = "http://testserver"
ALLOWED_HOSTS = ["*"]
