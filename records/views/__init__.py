"""The pages of records, one module per audience: the learner's training list and player, certificates and
their public verification, the dashboards, the auditor's evidence pages."""

from __future__ import annotations
