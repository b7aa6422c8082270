"""Architecture specs: the layer registry, shape inference and validation.

Pure Python (no Django, TensorFlow or torch) so the web process, the workers and the
command line can all use it.
"""

from builder.spec.presets import presets
from builder.spec.registry import REGISTRY, LayerType, layer_catalog
from builder.spec.report import LayerReport, ResolvedLayer, ResolvedSpec, SpecError, SpecReport, SpecValidationError
from builder.spec.text import error_lines, report_table
from builder.spec.validate import Limits, resolve, validate_spec

__all__ = [
    "REGISTRY",
    "LayerReport",
    "LayerType",
    "Limits",
    "ResolvedLayer",
    "ResolvedSpec",
    "SpecError",
    "SpecReport",
    "SpecValidationError",
    "error_lines",
    "layer_catalog",
    "presets",
    "report_table",
    "resolve",
    "validate_spec",
]
