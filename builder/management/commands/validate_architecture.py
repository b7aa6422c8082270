"""python manage.py validate_architecture SPEC.json [--batch-size N]

Prints the per-layer table (exit 0) or every problem with the spec (exit 1).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from builder.management.commands._specfile import limits, read_spec
from builder.spec import SpecReport, validate_spec


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GiB"


def render_table(report: SpecReport) -> str:
    rows = [("Layer", "Type", "Inputs", "Output shape", "Params")]
    rows.append(("input", "Input", "", str(tuple(report.input_shape or ())), "0"))
    for layer in report.layers:
        rows.append((layer.id, layer.type, ", ".join(layer.inputs), str(tuple(layer.output_shape)), f"{layer.params:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) if i < 4 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("")
    lines.append(f"Total params:         {report.total_params:,}")
    lines.append(f"Trainable params:     {report.trainable_params:,}")
    lines.append(f"Non-trainable params: {report.non_trainable_params:,}")
    if report.torch_extra_params:
        lines.append(f"torch extra params:   {report.torch_extra_params:,} (redundant biases torch's layers carry)")
    lines.append(f"Training memory at batch size {report.batch_size}: about {human_bytes(report.memory_estimate_bytes)}")
    lines.extend(f"Note: {note}" for note in report.notes)
    return "\n".join(lines)


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
            for error in report.errors:
                where = ".".join(p for p in (error.layer_id, error.param) if p) or error.path or "spec"
                self.stderr.write(f"  {where}: {error.message}")
            sys.exit(1)
        self.stdout.write(f"{report.name}: valid")
        self.stdout.write(render_table(report))
