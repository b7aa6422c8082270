"""The spec limits, read from Django settings in this one place."""

from __future__ import annotations

from django.conf import settings

from builder.spec import Limits


def spec_limits() -> Limits:
    return Limits(
        max_layers=settings.LAYERLOOM_MAX_LAYERS,
        max_params=settings.LAYERLOOM_MAX_PARAMS,
        max_input_values=settings.LAYERLOOM_MAX_INPUT_VALUES,
        max_layer_values=settings.LAYERLOOM_MAX_LAYER_VALUES,
    )
