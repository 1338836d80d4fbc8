from __future__ import annotations

import django.dispatch

# Sent (after commit) with `version=` when a new CourseVersion is published. Higher layers listen:
# the assignment engine assigns retraining when the version is material.
version_published = django.dispatch.Signal()

# Sent (after commit) with `version=` when a PolicyVersion is published: roles asks its audience to acknowledge it.
policy_version_published = django.dispatch.Signal()

# Sent INSIDE the retiring transaction with `policy=` and `actor=` when a Policy is retired: roles cancels the open
# acknowledgements of it in that same transaction, so a retired policy never commits with people still asked.
policy_retired = django.dispatch.Signal()
