"""python manage.py validate_architecture SPEC.json [--batch-size N]

Prints the per-layer table (exit 0) or every problem with the spec (exit 1).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from builder.management.commands._specfile import limits, read_spec
from builder.spec import validate_spec
from builder.spec.text import error_lines, report_table


class Command(BaseCommand):
    help = "Validate an architecture spec and print its per-layer shapes and parameter counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("spec", help="Path to the spec JSON file ('-' for standard input).")
        parser.add_argument("--batch-size", type=int, default=32, help="Batch size for the memory estimate.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            self.stderr.write("--batch-size must be a positive integer.")
            sys.exit(2)
        report = validate_spec(read_spec(options["spec"]), limits=limits(), batch_size=options["batch_size"])
        if not report.ok:
            self.stderr.write(f"The spec has {len(report.errors)} problem(s):")
            self.stderr.write(error_lines(report))
            sys.exit(1)
        self.stdout.write(f"{report.name}: valid")
        self.stdout.write(report_table(report))
