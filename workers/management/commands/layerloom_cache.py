"""Show (and with --clear empty) this host's cache of dataset versions pulled from the file store."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from builder.datasets.limits import human_bytes
from webapp import filecache, filestore


class Command(BaseCommand):
    help = ("List this host's cache of materialised dataset versions pulled from the file store "
            "(LAYERLOOM_CACHE_DIR, bounded by LAYERLOOM_CACHE_MAX_MB), most recently used first; "
            "--clear empties it.")  # fmt: skip

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clear", action="store_true", help="remove every entry")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.stdout.write(f"Store: {filestore.describe()}.")
        if filestore.is_local():
            self.stdout.write("Datasets are read where they are stored; the cache is used only with a remote store.")
        if opts["clear"]:
            removed = filecache.clear()
            total = sum(e.size_bytes for e in removed)
            self.stdout.write(
                f"Removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}, {human_bytes(total)}."
            )
            return
        held = filecache.entries()
        for entry in held:
            used = datetime.datetime.fromtimestamp(entry.last_used, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            self.stdout.write(f"{entry.digest}  {human_bytes(entry.size_bytes):>10}  last used {used}  {entry.prefix}")
        total = sum(e.size_bytes for e in held)
        self.stdout.write(f"{len(held)} entr{'y' if len(held) == 1 else 'ies'}, {human_bytes(total)} of "
                          f"{human_bytes(filecache.max_bytes())} in {filecache.cache_dir()}.")  # fmt: skip
