from __future__ import annotations

import django.dispatch

# Sent (after commit) with `version=` when a new CourseVersion is published. Higher layers listen:
# the assignment engine assigns retraining when the version is material.
version_published = django.dispatch.Signal()

# Sent (after commit) with `version=` when a PolicyVersion is published: roles asks its audience to acknowledge it.
policy_version_published = django.dispatch.Signal()
