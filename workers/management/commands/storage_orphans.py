"""List (and with --delete remove) stored files that no dataset or job row owns."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from builder.datasets.limits import human_bytes
from workers.orphans import find_orphans, remove


class Command(BaseCommand):
    help = ("List stored files and folders (under LAYERLOOM_DATA_ROOT, or in the S3 bucket when one is "
            "configured) that no row owns; --delete removes them.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="remove what is listed")
        parser.add_argument(
            "--grace", type=float, default=3600, metavar="SECONDS",
            help="leave anything changed more recently than this alone (default 3600): it may be in progress",
        )  # fmt: skip

    def handle(self, *args: Any, **opts: Any) -> None:
        count = total = 0
        for orphan in find_orphans(opts["grace"]):
            if opts["delete"]:
                remove(orphan)
            verb = "removed" if opts["delete"] else "orphan"
            self.stdout.write(f"{verb}: {orphan.path} ({human_bytes(orphan.size_bytes)}; {orphan.why})")
            count += 1
            total += orphan.size_bytes
        summary = f"{count} orphan(s), {human_bytes(total)}"
        if count and not opts["delete"]:
            summary += "; run again with --delete to remove them"
        self.stdout.write(("Removed " if opts["delete"] and count else "") + summary + ".")
