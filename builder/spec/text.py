"""Plain-text renderings of a report, for the command line (like Keras's model.summary())."""

from __future__ import annotations

from builder.spec.report import SpecReport
from builder.spec.shapes import fmt


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def report_table(report: SpecReport) -> str:
    """The per-layer table with totals and the memory estimate."""
    rows = [("Layer (type)", "Output shape", "Params", "Inputs")]
    for layer in report.layers:
        inputs = ", ".join(layer.inputs)
        rows.append((f"{layer.id} ({layer.type})", fmt(layer.output_shape), f"{layer.params:,}", inputs))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(widths[i]) if i != 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip()
        )
        if index == 0:
            lines.append("-" * len(lines[0]))
    lines += [
        "",
        f"Input shape: {fmt(report.input_shape)}   Output shape: {fmt(report.output_shape)}",
        f"Total params: {report.total_params:,}",
        f"Trainable params: {report.trainable_params:,}",
        f"Non-trainable params: {report.non_trainable_params:,}",
        *(
            [f"torch extra params: {report.torch_extra_params:,} (redundant biases torch's layers carry)"]
            if report.torch_extra_params
            else []
        ),
        f"Estimated training memory (batch size {report.batch_size}): {human_bytes(report.memory_estimate_bytes)}",
    ]
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines)


def error_lines(report: SpecReport) -> str:
    """Every error, one per line, located by layer and parameter."""
    lines = []
    for error in report.errors:
        where = error.layer_id or error.path or "spec"
        if error.param:
            where += f".{error.param}"
        lines.append(f"{where}: {error.message} [{error.code}]")
    return "\n".join(lines)
