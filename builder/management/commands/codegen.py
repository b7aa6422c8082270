"""python manage.py codegen SPEC.json --framework keras|torch

Prints the generated model module: the same source a training job imports.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from builder.codegen.frameworks import NAMES, framework
from builder.management.commands._specfile import limits, read_spec
from builder.spec import validate_spec


class Command(BaseCommand):
    help = "Print the Keras or torch.nn model module generated from an architecture spec."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("spec", help="Path to the spec JSON file ('-' for standard input).")
        parser.add_argument("--framework", choices=NAMES, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        spec = read_spec(options["spec"])
        report = validate_spec(spec, limits=limits())
        if not report.ok:  # same messages as validate_architecture, rather than a traceback
            self.stderr.write(f"The spec has {len(report.errors)} problem(s); nothing generated:")
            for error in report.errors:
                where = ".".join(p for p in (error.layer_id, error.param) if p) or error.path or "spec"
                self.stderr.write(f"  {where}: {error.message}")
            sys.exit(1)
        source = framework(options["framework"]).generate(spec)
        self.stdout.write(source, ending="" if source.endswith("\n") else "\n")
