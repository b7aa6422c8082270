"""Upload options: checked field by field, filled with defaults, stored on the dataset row.

The rules common to every kind (split, seed) live here; each kind declares its own options,
their defaults and their checks (DatasetKind.option_defaults, check_options).
"""

from __future__ import annotations

import math
from typing import Any

from builder.datasets.errors import OptionsError
from builder.datasets.kinds import UnknownKind, get_kind, kind_names
from builder.datasets.kinds.base import whole_number

# split None: chosen by the data's size when it is ingested (builder.datasets.split.default_split).
DEFAULTS: dict[str, Any] = {"split": None, "seed": 0}


def validate_options(kind_name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Checked options with defaults filled in; raises OptionsError naming each bad field."""
    try:
        kind = get_kind(kind_name)
    except UnknownKind:
        raise OptionsError({"kind": f"Choose one of: {', '.join(kind_names())}."}) from None
    if options is not None and not isinstance(options, dict):
        raise OptionsError({"options": "Options must be an object."})
    options = dict(options or {})
    defaults = {**DEFAULTS, **kind.option_defaults}
    allowed = set(defaults)
    errors: dict[str, str] = {}
    for key in options:
        if key not in allowed:
            errors[key] = f"Not an option for {kind.name} data. Options are: {', '.join(sorted(allowed))}."
    out = {key: defaults[key] for key in sorted(allowed)}
    out.update({key: value for key, value in options.items() if key in allowed and value is not None})

    split = out["split"]
    if split is not None:
        errors.update(split_errors(split))
        out["split"] = None if errors.get("split") else [float(f) for f in split]
    if not whole_number(out["seed"]) or not 0 <= out["seed"] < 2**32:
        errors["seed"] = "The seed must be a whole number from 0 to 4294967295."
    errors.update(kind.check_options(out))
    if errors:
        raise OptionsError(errors)
    return out


def split_errors(split: Any) -> dict[str, str]:
    """What is wrong with fractions a user gave (nothing when they are fine)."""
    if (
        not isinstance(split, list | tuple)
        or len(split) != 3
        or not all(isinstance(f, int | float) and not isinstance(f, bool) and math.isfinite(f) for f in split)
    ):
        return {"split": "Give three fractions for train, validation and test, e.g. [0.8, 0.1, 0.1]."}
    if min(split) < 0 or split[0] <= 0 or abs(sum(split) - 1.0) > 1e-6:
        return {"split": "The fractions must be non-negative, train above 0, and add up to 1."}
    return {}
