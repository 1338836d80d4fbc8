"""The documents records produces: certificates, the PDF training report and the evidence bundle.

Builders read through services and selectors and are called from tasks (records/tasks.py); services and
selectors never import a builder.
"""

from __future__ import annotations
