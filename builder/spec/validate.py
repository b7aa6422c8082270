"""Validate a whole architecture spec and infer every layer's shape and parameter count.

:func:`validate_spec` accepts anything (it is fed raw JSON from forms and the API) and
never raises for bad input: it returns a :class:`SpecReport` listing every problem it
can find at once, each naming the layer and parameter and saying what would fix it.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from builder.spec.naming import MODEL_INPUT, id_problem
from builder.spec.params import Params
from builder.spec.registry import REGISTRY, LayerType
from builder.spec.report import (
    LayerReport,
    ResolvedLayer,
    ResolvedSpec,
    SpecError,
    SpecReport,
    SpecValidationError,
)
from builder.spec.shapes import Shape, ShapeError, prod

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
TOP_LEVEL_KEYS = ("format", "name", "description", "input", "layers")
LAYER_KEYS = ("id", "type", "params", "inputs")
MAX_INPUT_RANK = 3
MAX_INPUT_DIM = 100_000
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2_000
BYTES_PER_VALUE = 4  # float32


# Every SpecError.code, with what it means (rendered into docs/architecture-format.md).
ERROR_CODES: dict[str, str] = {
    "not_an_object": "The spec is not a JSON object.",
    "unknown_field": "A field the format does not have (top level, input or layer).",
    "missing_field": "A required top-level field (format, input) is missing.",
    "unsupported_format": "format is not 1.",
    "invalid_name": "name is not a non-empty string of at most 100 characters.",
    "invalid_description": "description is not a string of at most 2,000 characters.",
    "invalid_input": "input is not an object with a shape.",
    "invalid_input_shape": "input.shape is not a list of 1 to 3 positive whole numbers.",
    "input_too_large": "One sample has more values than the limit.",
    "invalid_layers": "layers is missing, empty or not a list.",
    "too_many_layers": "More layers than the limit.",
    "invalid_layer": "A layer is not an object.",
    "missing_id": "A layer has no id.",
    "invalid_id": "A layer id is malformed or reserved.",
    "duplicate_id": "Two layers share an id.",
    "missing_type": "A layer has no type.",
    "unknown_type": "A layer type is not in the registry.",
    "invalid_params": "A layer's params is not an object.",
    "missing_param": "A required parameter is missing.",
    "unknown_param": "A parameter the layer type does not have.",
    "wrong_type": "A parameter has the wrong JSON type.",
    "out_of_range": "A parameter is outside its bounds.",
    "invalid_choice": "A parameter is not one of its allowed values.",
    "invalid_value": "A parameter's value is invalid for another reason (e.g. two -1 in target_shape).",
    "invalid_inputs": "inputs is not a non-empty list of ids.",
    "unknown_input": "inputs names an id that does not exist (a dangling reference).",
    "forward_reference": "inputs names a layer that comes later.",
    "cyclic_inputs": "inputs form a cycle.",
    "wrong_input_count": "A layer gets too few or too many inputs.",
    "shape_mismatch": "A layer cannot accept the shape it is given.",
    "unused_layer": "A layer's output is never used (an unused branch).",
    "unused_input": "No layer reads the model input.",
    "embedding_input": "An Embedding or PositionalEmbedding does not read the model input, or another layer reads token ids.",
    "too_many_params": "More parameters than the limit.",
    "output_too_large": "A layer's output has more values per sample than the limit.",
    "internal_error": "A bug in the validator; the spec was not checked.",
}


@dataclass(frozen=True)
class Limits:
    """Configurable ceilings; the defaults are the product's limits."""

    max_layers: int = 200
    max_params: int = 100_000_000
    max_input_values: int = 10_000_000
    # Values one sample produces at any layer's output: past this the activations of one
    # batch cannot fit any machine, however few parameters the layer has.
    max_layer_values: int = 20_000_000


def validate_spec(spec: Any, limits: Limits | None = None, batch_size: int = 32) -> SpecReport:
    """Check ``spec`` completely and report shapes, parameter counts and every error."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    validator = _Validator(limits or Limits(), batch_size)
    try:
        return validator.run(spec)
    except Exception:  # noqa: BLE001 - bad input must become an error report, never a 500
        logger.exception("architecture validation crashed")
        error = SpecError(None, None, "The spec could not be checked because of an internal error.", "internal_error")
        return SpecReport(ok=False, errors=[error], batch_size=batch_size)


def resolve(spec: Any, limits: Limits | None = None) -> ResolvedSpec:
    """The validated, typed form of ``spec``; raises SpecValidationError listing every problem."""
    report = validate_spec(spec, limits)
    if not report.ok or report.resolved is None:
        raise SpecValidationError(report.errors)
    return report.resolved


def describe(value: Any) -> str:
    """A short, safe description of a user value for an error message."""
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 64:
            return f"an integer with about {int(value.bit_length() * 0.30103)} digits"
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"an object with {len(value)} key{'s' * (len(value) != 1)}"
    return f"a value of type {type(value).__name__}"


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else f"a {type(value).__name__}"


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """A " (did you mean 'X'?)" hint for a misspelt name, or ""."""
    if len(word) > 64:
        return ""
    by_lower = {o.lower(): o for o in options}
    if word.lower() in by_lower:
        return f" (did you mean '{by_lower[word.lower()]}'? names are case-sensitive)"
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_PYDANTIC_CODES = {
    "missing": "missing_param",
    "extra_forbidden": "unknown_param",
    "literal_error": "invalid_choice",
    "union_tag_invalid": "invalid_choice",
    "union_tag_not_found": "missing_param",
    "value_error": "invalid_value",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "too_short": "out_of_range",
    "too_long": "out_of_range",
    "finite_number": "out_of_range",
}


class _Validator:
    def __init__(self, limits: Limits, batch_size: int) -> None:
        self.limits = limits
        self.batch_size = batch_size
        self.errors: list[SpecError] = []

    def error(
        self, code: str, message: str, layer_id: str | None = None, param: str | None = None, path: str = ""
    ) -> None:
        self.errors.append(SpecError(layer_id, param, message, code, path))

    def fail(self) -> SpecReport:
        return SpecReport(ok=False, errors=self.errors, batch_size=self.batch_size)

    # -- top level ------------------------------------------------------------------------

    def run(self, spec: Any) -> SpecReport:
        if not isinstance(spec, dict):
            self.error(
                "not_an_object",
                f'The spec must be a JSON object with "format", "input" and "layers"; got {json_type(spec)}.',
            )
            return self.fail()
        for key in spec:
            if key not in TOP_LEVEL_KEYS:
                shown = describe(key) if not isinstance(key, str) else repr(key[:40])
                hint = suggest(key, TOP_LEVEL_KEYS) if isinstance(key, str) else ""
                self.error(
                    "unknown_field",
                    f"Unknown top-level field {shown}{hint}; remove it. Allowed: {', '.join(TOP_LEVEL_KEYS)}.",
                    path=str(key)[:40] if isinstance(key, str) else "",
                )
        self.check_format(spec.get("format"), "format" in spec)
        name = self.check_name(spec)
        input_shape = self.check_input(spec.get("input"), "input" in spec)
        raw_layers = self.check_layers_list(spec.get("layers"), "layers" in spec)
        if raw_layers is None:
            return self.fail()
        return self.check_layers(raw_layers, input_shape, name)

    def check_format(self, value: Any, present: bool) -> None:
        if not present:
            self.error("missing_field", f'The spec needs "format": {FORMAT_VERSION}.', path="format")
        elif isinstance(value, bool) or value != FORMAT_VERSION:
            self.error(
                "unsupported_format",
                f'"format" is {describe(value)}, but only format {FORMAT_VERSION} exists; set "format": {FORMAT_VERSION}.',
                path="format",
            )

    def check_name(self, spec: dict[str, Any]) -> str:
        name = spec.get("name", "model")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            self.error(
                "invalid_name",
                f'"name" must be a non-empty string of at most {MAX_NAME_LENGTH} characters; got {describe(name)}.',
                path="name",
            )
            name = "model"
        description = spec.get("description", "")
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            self.error(
                "invalid_description",
                f'"description" must be a string of at most {MAX_DESCRIPTION_LENGTH} characters; got {describe(description)}.',
                path="description",
            )
        return name

    def check_input(self, value: Any, present: bool) -> Shape | None:
        example = 'e.g. "input": {"shape": [28, 28, 1]} for images or {"shape": [20]} for 20 features'
        if not present:
            self.error("missing_field", f'The spec needs an "input" with a shape, {example}.', path="input")
            return None
        if not isinstance(value, dict) or "shape" not in value:
            self.error("invalid_input", f'"input" must be an object with a "shape", {example}.', path="input")
            return None
        for key in value:
            if key != "shape":
                shown = repr(key[:40]) if isinstance(key, str) else describe(key)
                self.error("unknown_field", f'"input" has only a "shape"; remove {shown}.', path="input")
        shape = value["shape"]
        valid = (
            isinstance(shape, list)
            and 1 <= len(shape) <= MAX_INPUT_RANK
            and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_INPUT_DIM for d in shape)
        )
        if not valid:
            self.error(
                "invalid_input_shape",
                f'"input.shape" must be a list of 1 to {MAX_INPUT_RANK} whole numbers between 1 and {MAX_INPUT_DIM} '
                f"(channels-last, without the batch axis), {example}; got {describe(shape)}.",
                param="shape",
                path="input.shape",
            )
            return None
        result = tuple(shape)
        if prod(result) > self.limits.max_input_values:
            self.error(
                "input_too_large",
                f"The input has {prod(result):,} values per sample; the limit is {self.limits.max_input_values:,}. "
                "Resize the data to a smaller shape.",
                param="shape",
                path="input.shape",
            )
            return None
        return result

    def check_layers_list(self, value: Any, present: bool) -> list[Any] | None:
        if not present or not isinstance(value, list) or not value:
            got = "nothing" if not present else describe(value)
            self.error(
                "invalid_layers",
                f'"layers" must be a non-empty list of layers like {{"id": "fc1", "type": "Dense", '
                f'"params": {{"units": 10}}}}; got {got}.',
                path="layers",
            )
            return None
        if len(value) > self.limits.max_layers:
            self.error(
                "too_many_layers",
                f"The spec has {len(value)} layers; the limit is {self.limits.max_layers}. Remove layers.",
                path="layers",
            )
            return None
        return value

    # -- layers ---------------------------------------------------------------------------

    def check_layers(self, raw_layers: list[Any], input_shape: Shape | None, name: str) -> SpecReport:
        ids: list[str | None] = [self.check_id(i, raw, raw_layers) for i, raw in enumerate(raw_layers)]
        positions = {layer_id: i for i, layer_id in enumerate(ids) if layer_id is not None}
        all_inputs = [self.raw_inputs(raw, i, ids) for i, raw in enumerate(raw_layers)]

        shapes: dict[str, Shape | None] = {MODEL_INPUT: input_shape}
        resolved: list[ResolvedLayer] = []
        reports: list[LayerReport] = []
        consumers: dict[str, list[int]] = {}
        trainable = frozen = torch_extra = 0
        complete = input_shape is not None

        for i, raw in enumerate(raw_layers):
            layer_id = ids[i]
            label = f"'{layer_id}'" if layer_id else str(i + 1)
            definition = self.check_type(raw, i, layer_id, label)
            params = self.check_params(raw, i, layer_id, label, definition) if definition else None
            inputs = self.check_inputs(raw, i, layer_id, label, ids, positions, all_inputs, definition)
            # Inputs with a problem of their own still say which layers are meant to be used,
            # so those are not reported as unused as well.
            for ref in inputs if inputs is not None else (all_inputs[i] or ()):
                consumers.setdefault(ref, []).append(i)
            if layer_id is None or definition is None or params is None or inputs is None:
                complete = False
                if layer_id is not None:
                    shapes[layer_id] = None
                continue
            in_shapes = [shapes.get(ref) for ref in inputs]
            if any(s is None for s in in_shapes):
                # An upstream problem is already reported; do not pile on.
                shapes[layer_id] = None
                complete = False
                continue
            known = [s for s in in_shapes if s is not None]
            try:
                out_shape = definition.output_shape(params, known)
                counts = definition.param_counts(params, known)
                extra = definition.torch_extra_params(params, known)
            except ShapeError as exc:
                self.error(
                    "shape_mismatch",
                    f"{definition.name} layer {label}: {exc.message}",
                    layer_id,
                    exc.param,
                    f"layers[{i}]" + (f".params.{exc.param}" if exc.param else ""),
                )
                shapes[layer_id] = None
                complete = False
                continue
            if prod(out_shape) > self.limits.max_layer_values:
                self.error(
                    "output_too_large",
                    f"{definition.name} layer {label} outputs {list(out_shape)}: {prod(out_shape):,} values per "
                    f"sample; the limit is {self.limits.max_layer_values:,}. Use fewer filters or units, or "
                    "downsample (pooling, strides) before it.",
                    layer_id,
                    None,
                    f"layers[{i}]",
                )
                shapes[layer_id] = None
                complete = False
                continue
            shapes[layer_id] = out_shape
            trainable += counts[0]
            frozen += counts[1]
            torch_extra += extra
            resolved.append(
                ResolvedLayer(layer_id, definition.name, definition, params, tuple(inputs), tuple(known), out_shape)
            )
            reports.append(
                LayerReport(layer_id, definition.name, out_shape, counts[0], counts[1], tuple(inputs), extra)
            )

        self.check_usage(ids, consumers, raw_layers)
        input_dtype = self.check_token_inputs(resolved, consumers, ids)
        if trainable + frozen > self.limits.max_params:
            self.error(
                "too_many_params",
                f"The model has {trainable + frozen:,} parameters; the limit is {self.limits.max_params:,}. "
                "Use fewer units or filters, or downsample (pooling, strides) before Flatten and Dense.",
            )

        # Report problems in spec order: top-level fields first, then layer by layer.
        self.errors.sort(key=error_position)
        ok = complete and not self.errors
        output_shape = reports[-1].output_shape if reports and ok else None
        report = SpecReport(
            ok=ok,
            errors=self.errors,
            layers=reports,
            name=name,
            input_shape=input_shape,
            output_shape=output_shape,
            trainable_params=trainable,
            non_trainable_params=frozen,
            torch_extra_params=torch_extra,
            batch_size=self.batch_size,
            memory_estimate_bytes=self.memory_estimate(input_shape, reports, trainable + frozen),
            notes=self.notes(reports),
        )
        if ok and input_shape is not None:
            report.resolved = ResolvedSpec(name, input_shape, input_dtype, tuple(resolved))
        return report

    def check_id(self, index: int, raw: Any, raw_layers: list[Any]) -> str | None:
        path = f"layers[{index}]"
        if not isinstance(raw, dict):
            self.error(
                "invalid_layer",
                f'Layer {index + 1} must be an object like {{"id": "fc1", "type": "Dense", "params": {{...}}}}; '
                f"got {json_type(raw)}.",
                path=path,
            )
            return None
        for key in raw:
            if key not in LAYER_KEYS:
                shown = repr(key[:40]) if isinstance(key, str) else describe(key)
                hint = suggest(key, LAYER_KEYS) if isinstance(key, str) else ""
                self.error(
                    "unknown_field",
                    f"Layer {index + 1} has an unknown field {shown}{hint}; allowed: {', '.join(LAYER_KEYS)} "
                    '(layer settings go inside "params").',
                    path=path,
                )
        if "id" not in raw:
            self.error("missing_id", f'Layer {index + 1} needs an "id", e.g. "layer{index + 1}".', path=path + ".id")
            return None
        value = raw["id"]
        if not isinstance(value, str):
            self.error(
                "invalid_id", f'Layer {index + 1}: "id" must be a string; got {describe(value)}.', path=path + ".id"
            )
            return None
        problem = id_problem(value)
        if problem:
            self.error("invalid_id", f"Layer {index + 1}: id {describe(value)} {problem}.", path=path + ".id")
            return None
        for earlier in range(index):
            other = raw_layers[earlier]
            if isinstance(other, dict) and other.get("id") == value:
                self.error(
                    "duplicate_id",
                    f"Layer {index + 1}: id '{value}' is already used by layer {earlier + 1}; ids must be unique.",
                    layer_id=value,
                    path=path + ".id",
                )
                return None
        return value

    def check_type(self, raw: Any, index: int, layer_id: str | None, label: str) -> LayerType | None:
        if not isinstance(raw, dict):
            return None
        path = f"layers[{index}].type"
        if "type" not in raw:
            self.error("missing_type", f'Layer {label} needs a "type", e.g. "Dense".', layer_id, path=path)
            return None
        value = raw["type"]
        if not isinstance(value, str) or value not in REGISTRY:
            hint = suggest(value, list(REGISTRY)) if isinstance(value, str) else ""
            self.error(
                "unknown_type",
                f"Layer {label}: unknown layer type {describe(value)}{hint}. Known types: {', '.join(REGISTRY)}.",
                layer_id,
                path=path,
            )
            return None
        return REGISTRY[value]

    def check_params(
        self, raw: dict[str, Any], index: int, layer_id: str | None, label: str, definition: LayerType
    ) -> Params | None:
        path = f"layers[{index}].params"
        value = raw.get("params", {})
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.error(
                "invalid_params",
                f'{definition.name} layer {label}: "params" must be an object; got {json_type(value)}.',
                layer_id,
                path=path,
            )
            return None
        try:
            return definition.params_model.model_validate(value)
        except ValidationError as exc:
            self.report_param_errors(exc, definition, layer_id, label, path)
            return None

    def report_param_errors(
        self, exc: ValidationError, definition: LayerType, layer_id: str | None, label: str, path: str
    ) -> None:
        fields = definition.params_model.model_fields
        by_field: dict[Any, list[dict[str, Any]]] = {}
        for err in exc.errors(include_url=False):
            by_field.setdefault(err["loc"][0] if err["loc"] else "", []).append(err)
        grouped: dict[str, list[dict[str, Any]]] = {}
        for err in [e for errs in by_field.values() for e in narrow_union_errors(errs)]:
            if err["type"] == "extra_forbidden":
                # The unknown key is user text: keep it short and out of the path syntax.
                key = err["loc"][-1]
                prefix = param_path(err["loc"][:-1])
                name = key[:40] if isinstance(key, str) else str(key)
                grouped.setdefault((prefix + "." if prefix else "") + name, []).append(err)
                continue
            grouped.setdefault(param_path(err["loc"]), []).append(err)
        for param, errs in grouped.items():
            err = errs[0]
            code = _PYDANTIC_CODES.get(err["type"], "wrong_type")
            top = param.split(".")[0]
            field = fields.get(top)
            expected = (
                f" Expected: {field.description}"
                if field is not None and field.description and "." not in param
                else ""
            )
            where = f"{definition.name} layer {label}"
            if code == "unknown_param":
                known = ", ".join(fields) or "none"
                hint = suggest(param.split(".")[-1], list(fields)) if "." not in param else ""
                message = f"{where} has no parameter {param!r}{hint}; remove or rename it. Its parameters: {known}."
            elif code == "missing_param":
                message = f"{where} is missing the required parameter '{param}'; add it to params.{expected}"
            elif err["type"] == "union_tag_invalid":
                tags = err.get("ctx", {}).get("expected_tags", "")
                tag = describe(err.get("ctx", {}).get("tag"))
                message = f"{where}: parameter '{param}' has type {tag}, which is not one of {tags}.{expected}"
            elif len(errs) > 1:
                # A union (e.g. 3 or [3, 3]) failed in every branch; one message is clearer.
                message = f"{where}: parameter '{param}' is not valid; got {describe(err.get('input'))}.{expected}"
                code = "wrong_type" if all(e["type"].endswith("_type") for e in errs) else "invalid_value"
            else:
                detail = str(err["msg"]).removeprefix("Input ").removeprefix("Value error, ")
                detail = detail[:1].lower() + detail[1:]
                message = f"{where}: parameter '{param}' {detail}; got {describe(err.get('input'))}.{expected}"
            # The form field is the parameter itself; the path keeps the list index.
            field_name = re.sub(r"\[\d+\]", "", param)
            self.errors.append(SpecError(layer_id, field_name, message, code, f"{path}.{param}" if param else path))

    def raw_inputs(self, raw: Any, index: int, ids: list[str | None]) -> list[str] | None:
        """A layer's inputs as written (or the default), without checking; for cycle detection."""
        if not isinstance(raw, dict):
            return None
        if "inputs" not in raw:
            return [ids[index - 1]] if index > 0 and ids[index - 1] else ([MODEL_INPUT] if index == 0 else None)
        value = raw["inputs"]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None

    def check_inputs(
        self,
        raw: Any,
        index: int,
        layer_id: str | None,
        label: str,
        ids: list[str | None],
        positions: dict[str, int],
        all_inputs: list[list[str] | None],
        definition: LayerType | None,
    ) -> list[str] | None:
        if not isinstance(raw, dict):
            return None
        path = f"layers[{index}].inputs"
        if "inputs" not in raw:
            if definition is not None and definition.min_inputs > 1:
                self.error(
                    "wrong_input_count",
                    f"{definition.name} layer {label} combines at least {definition.min_inputs} inputs; list them in "
                    f'"inputs", e.g. "inputs": ["branch_a", "branch_b"].',
                    layer_id,
                    path=path,
                )
                return None
            if index == 0:
                return [MODEL_INPUT]
            previous = ids[index - 1]
            return [previous] if previous is not None else None
        value = raw["inputs"]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.error(
                "invalid_inputs",
                f'Layer {label}: "inputs" must be a non-empty list of layer ids (or "input" for the model input); '
                f"got {describe(value)}.",
                layer_id,
                path=path,
            )
            return None
        ok = True
        for ref in value:
            if ref == MODEL_INPUT:
                continue
            position = positions.get(ref)
            shown = describe(ref)
            if position is None:
                known = [i for i in ids[:index] if i]
                hint = suggest(ref, known) if len(ref) <= 64 else ""
                self.error(
                    "unknown_input",
                    f"Layer {label} reads from {shown}, which is not a layer id{hint}; use the id of an earlier "
                    'layer or "input" for the model input.',
                    layer_id,
                    "inputs",
                    path,
                )
                ok = False
            elif position >= index:
                if layer_id is not None and reaches(ref, layer_id, positions, all_inputs):
                    self.error(
                        "cyclic_inputs",
                        f"Layer {label} reads from '{ref}', which (directly or through other layers) reads from "
                        f"{label}: a cycle. Layers can only read from layers above them; break the cycle.",
                        layer_id,
                        "inputs",
                        path,
                    )
                else:
                    self.error(
                        "forward_reference",
                        f"Layer {label} reads from '{ref}', which comes later; layers run in order, so move "
                        f"'{ref}' above {label}.",
                        layer_id,
                        "inputs",
                        path,
                    )
                ok = False
        if definition is not None:
            count = len(value)
            too_few = count < definition.min_inputs
            too_many = definition.max_inputs is not None and count > definition.max_inputs
            if too_few or too_many:
                if definition.max_inputs == 1:
                    needed = "exactly one input"
                    fix = "use an Add or Concatenate layer to combine branches"
                else:
                    needed = f"at least {definition.min_inputs} inputs"
                    fix = "list more layer ids"
                self.error(
                    "wrong_input_count",
                    f"{definition.name} layer {label} takes {needed} but lists {count}; {fix}.",
                    layer_id,
                    "inputs",
                    path,
                )
                ok = False
        return value if ok else None

    def check_usage(self, ids: list[str | None], consumers: dict[str, list[int]], raw_layers: list[Any]) -> None:
        if MODEL_INPUT not in consumers and any(i is not None for i in ids):
            self.error("unused_input", 'No layer reads the model input; give the first layer "inputs": ["input"].')
        for index, layer_id in enumerate(ids[:-1]):
            if layer_id is not None and layer_id not in consumers:
                last = ids[-1] or f"layers[{len(ids) - 1}]"
                self.error(
                    "unused_layer",
                    f"The output of layer '{layer_id}' is never used (the model's output is the last layer, "
                    f"'{last}'); feed it into a later layer through \"inputs\" or remove it.",
                    layer_id,
                    path=f"layers[{index}]",
                )

    def check_token_inputs(
        self, resolved: list[ResolvedLayer], consumers: dict[str, list[int]], ids: list[str | None]
    ) -> str:
        """Embedding and PositionalEmbedding read integer token ids, which exist only at the model input."""
        embeddings = [layer for layer in resolved if getattr(layer.definition, "needs_model_input", False)]
        for layer in embeddings:
            if layer.inputs != (MODEL_INPUT,):
                self.error(
                    "embedding_input",
                    f"{layer.type} layer '{layer.id}' must read the model input (integer token ids); "
                    'set its "inputs" to ["input"] and make it the first layer.',
                    layer.id,
                    "inputs",
                    f"layers[{ids.index(layer.id)}].inputs",
                )
        if not embeddings:
            return "float32"
        if any(layer.inputs != (MODEL_INPUT,) for layer in embeddings):
            return "int32"  # the input is not token ids until the Embedding is moved
        embedding_ids = {layer.id for layer in embeddings}
        for position in consumers.get(MODEL_INPUT, []):
            other = ids[position]
            if other is not None and other not in embedding_ids:
                self.error(
                    "embedding_input",
                    f"Layer '{other}' reads the model input, which holds integer token ids because "
                    f"{article(embeddings[0].type)} {embeddings[0].type} reads it; only Embedding and "
                    f"PositionalEmbedding layers may read token ids. Read from the {embeddings[0].type} instead.",
                    other,
                    "inputs",
                    f"layers[{position}].inputs",
                )
        return "int32"

    def memory_estimate(self, input_shape: Shape | None, reports: list[LayerReport], params: int) -> int:
        """Rough training memory: weights, gradients and two Adam moments, plus activations
        kept for the backward pass and their gradients, for one batch (float32)."""
        activations = prod(input_shape) if input_shape else 0
        activations += sum(prod(r.output_shape) for r in reports)
        return BYTES_PER_VALUE * (4 * params + 2 * self.batch_size * activations)

    def notes(self, reports: list[LayerReport]) -> list[str]:
        notes = []
        for r in reports:
            if r.torch_extra_params:
                notes.append(
                    f"{r.type} layer '{r.id}': the torch model has {r.torch_extra_params:,} more parameters than "
                    "Keras because torch.nn.LSTM keeps two bias vectors (bias_ih, bias_hh) where Keras keeps one; "
                    "with bias_hh at zero both compute the same function (each job trains its own weights)."
                )
        return notes


def article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def error_position(error: SpecError) -> int:
    match = re.match(r"layers\[(\d+)\]", error.path)
    if match:
        return int(match.group(1))
    # Whole-model findings come after the layers; spec fields before them.
    return 1_000_000 if error.code in ("too_many_params", "unused_input") else -1


def narrow_union_errors(errs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For `3 or [3, 3]` parameters keep the branch that matches what was given."""
    if len(errs) < 2:
        return errs
    given = errs[0].get("input")
    branch = (
        "int" if isinstance(given, int) and not isinstance(given, bool) else "list" if isinstance(given, list) else None
    )
    if branch is None:
        return errs
    # Branch tags look like "constrained-int" and "list[constrained-int]".
    tags = [[p for p in e["loc"] if isinstance(p, str) and ("int" in p or "list" in p)] for e in errs]
    matching = [e for e, t in zip(errs, tags, strict=True) if t and t[0].startswith("list") == (branch == "list")]
    return matching or errs


_UNION_TAGS = frozenset({"LSTM", "GRU", "int", "float", "str", "bool", "none"})


def param_path(loc: tuple[Any, ...]) -> str:
    """Dotted parameter path from a pydantic error location, without union branch tags."""
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in _UNION_TAGS or not str(part).isidentifier():
            continue  # discriminator tags and union member names like "list[int]"
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def reaches(start: str, target: str, positions: dict[str, int], all_inputs: list[list[str] | None]) -> bool:
    """Whether following inputs from ``start`` leads to ``target`` (a cycle through it)."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current in seen or current not in positions:
            continue
        seen.add(current)
        stack.extend(all_inputs[positions[current]] or ())
    return False


__all__ = ["Limits", "LayerReport", "SpecError", "SpecReport", "resolve", "validate_spec"]
