"""`verify_audit_chain`: exit 0 with the event count and head hash when whole; otherwise name the first bad seq."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hipaa_training import verify


class Command(BaseCommand):
    help = "Check every hash, link and sequence number of the audit trail, and the signed anchors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--record",
            action="store_true",
            help="Also store the outcome, shown to compliance officers (the nightly job does this and anchors).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify.verify()
        if options["record"]:
            verify.verification_record(result=result, anchor_head=False)
        if result.problem is not None:
            problem = result.problem
            raise CommandError(f"Audit trail BROKEN at seq {problem.seq}: {problem.kind}. {problem.detail}")
        anchors = result.anchors_checked
        self.stdout.write(
            f"Audit trail whole: {result.events} events, head #{result.head_seq} {result.head_hash}; "
            f"{anchors} anchor{'' if anchors == 1 else 's'} matched ({result.seconds:.2f} s)."
        )
