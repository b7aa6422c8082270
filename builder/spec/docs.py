"""Render docs/architecture-format.md from the registry, so the reference cannot drift.

Regenerate with ``python scripts/gen_architecture_docs.py``; a test compares the
committed file with a fresh rendering.
"""

from __future__ import annotations

import json
from typing import Any

from builder.spec.naming import GENERATED_NAMES, MODEL_INPUT
from builder.spec.params import ACTIVATIONS
from builder.spec.presets import ground_truth, presets
from builder.spec.registry import CATEGORIES, REGISTRY, LayerType
from builder.spec.validate import ERROR_CODES, MAX_INPUT_DIM, MAX_INPUT_RANK, Limits

INTRO = """\
# Architecture spec format (format 1)

<!-- Generated from the layer registry by `python scripts/gen_architecture_docs.py`. Do not edit by hand. -->

An architecture is a JSON document. Layerloom validates it (every problem at once, each
naming the layer and parameter), infers every layer's output shape and parameter count,
and generates Keras and torch.nn source from it. Type names and parameter names are
Keras's, so the Keras documentation describes them too.

## The document

| Field | Required | Meaning |
|---|---|---|
| `format` | yes | Always `1`. |
| `name` | no | Free text, at most 100 characters (default `"model"`). Generated class and model names are derived from its letters and digits. |
| `description` | no | Free text, at most 2,000 characters. |
| `input.shape` | yes | Shape of one sample without the batch axis, channels-last: `[features]`, `[timesteps, features]` or `[height, width, channels]`. 1 to {rank} whole numbers, each at most {max_dim:,}. For text, `[sequence_length]` of integer token ids read by an `Embedding`. |
| `layers` | yes | Ordered list of layers (below). The last layer is the model's output. |

Each layer is an object:

| Field | Required | Meaning |
|---|---|---|
| `id` | yes | Unique name matching `^[A-Za-z_][A-Za-z0-9_]{{0,63}}$`. It becomes the Keras layer name and the torch attribute name, so it must not start with `_`, be a Python keyword, or be one of the names the generated code uses ({reserved}) or a `torch.nn.Module` method (`train`, `eval`, `forward`, `to`, `type`, ...). |
| `type` | yes | A layer type from the reference below (case-sensitive). |
| `params` | no | The type's parameters; omitted ones take the defaults listed below. Unknown parameters are errors. |
| `inputs` | no | List of layer ids this layer reads; `"{model_input}"` is the model input. Default: the previous layer (the model input for the first layer). Listing earlier layers makes a DAG for residual and concatenating blocks. |

Layers run in order, so `inputs` may only name layers above. Every layer's output must be
used by a later layer, except the last one (an unused branch is an error).

Parameter values are strict JSON: `"3"` is not a number and `true` is not `1`.

## Example

A small convolutional network (the preset `small_cnn`):

```json
{small_cnn}
```

A residual block: `inputs` names the shortcut and the branch for `Add` (from the preset
`residual_cnn`):

```json
{residual_block}
```

A Transformer encoder block on text works the same way (from the preset
`text_transformer`): self-attention and a feed-forward pair, each added back to its input
and normalised.

```json
{encoder_block}
```

## Limits

Configurable through `builder.spec.Limits` (the app reads them from the settings
`LAYERLOOM_MAX_LAYERS`, `LAYERLOOM_MAX_PARAMS`, `LAYERLOOM_MAX_INPUT_VALUES` and
`LAYERLOOM_MAX_LAYER_VALUES` in `builder/limits.py`): at most {max_layers} layers,
{max_params:,} parameters (trainable and not), {max_input_values:,} values per input
sample, and {max_layer_values:,} values per sample at any layer's output (a layer with few
parameters can still have an output no batch of which fits in memory).

## The report

Validation returns, per layer, the output shape (without the batch axis) and the
trainable and non-trainable parameter counts; the totals; and an estimate of training
memory for a batch size: float32 weights, gradients and two Adam moments (4 x parameters),
plus every layer's output and its gradient for the batch. It is a rough guide, not a
guarantee.

## Keras and torch

- Shapes in the spec are channels-last. The generated torch module holds images as NCHW:
  its `INPUT_SHAPE` is `(channels, height, width)` and `INPUT_PERMUTATION` (`(0, 3, 1, 2)`)
  turns a channels-last batch into what `forward` expects. Sequences stay
  `(batch, timesteps, features)` and Conv1D and pooling permute around themselves.
- `Flatten` (and `Reshape`) permute an NCHW tensor back to NHWC first, so the flattened
  order is Keras's and a following Dense layer's weights convert with a plain transpose.
- Layers that act on the last axis in Keras (Dense, LayerNormalization, softmax) act on
  the channel axis of an NCHW tensor in torch.
- Outputs include the final activation in both frameworks: a softmax output layer
  returns probabilities.
- torch.nn.LSTM has two bias vectors (`bias_ih`, `bias_hh`) where Keras's LSTM has one:
  the torch model has `4 x units` more parameters per LSTM direction. The report lists
  the difference (`torch_extra_params` and a note). Both compute the same function: the
  test suite's weight converter (`tests/support/weight_convert.py`, not something Layerloom
  runs for you; each job trains its own weights) puts Keras's bias in `bias_ih` and zeros in
  `bias_hh` (and sums them going back) and checks that the outputs are equal.
- GRU uses Keras's default `reset_after=True`, the same formula as torch.nn.GRU; the
  test suite's converter reorders the gates (Keras z, r, h; torch r, z, n).
- BatchNormalization: torch's `momentum` is `1 - momentum`; the moving mean and variance
  are torch buffers (`running_mean`, `running_var`), counted as non-trainable parameters.
  torch's `num_batches_tracked` counter is not a weight and is not counted.
- `"same"` padding follows TensorFlow: when the total padding is odd the extra row or
  column goes at the bottom/right (torch pads explicitly with `F.pad`); average pooling
  averages only real pixels.
- A kernel or pool window larger than its input is an error, whatever the padding.
- leaky_relu uses Keras's negative slope 0.2; gelu is the exact (erf) form in both.
- MultiHeadAttention is Keras's layer called as self-attention (`layer(x, x)`, so a model
  with it is written with the functional API) and torch.nn.MultiheadAttention
  (`batch_first=True`) in torch, which splits the feature size among the heads: hence
  `num_heads x key_dim` must equal the input's features. The test suite's converter stacks Keras's
  query, key and value kernels into torch's `in_proj_weight`.
- PositionalEmbedding has no built-in class in either framework: both generated modules
  define the same small `PositionalEmbedding` class (token and position tables, added).
  Loading a `model.keras` that has one needs the bundle's `model.py` imported first (it
  registers the class with Keras); ONNX, the SavedModel and TFLite need nothing.
- Padding is not masked: token id 0 (padding) is embedded, attended to and averaged like
  any other token, in both frameworks alike (as `Embedding` and the text presets do).
  Training learns to live with it; with much padding, a shorter sequence length helps.
"""


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "$ref" in prop:
        return "object"
    if "oneOf" in prop or "anyOf" in prop:
        members = prop.get("oneOf") or prop.get("anyOf") or []
        if "discriminator" in prop:
            return " or ".join(f"{m['$ref'].split('/')[-1].removeprefix('Wrapped')} object" for m in members)
        return " or ".join(_type_of(m, defs) for m in members)
    kind = prop.get("type")
    if kind == "array":
        items = _type_of(prop.get("items", {}), defs)
        count = prop.get("minItems"), prop.get("maxItems")
        size = f"{count[0]}" if count[0] == count[1] else f"{count[0]} to {count[1]}"
        return f"list of {size} {items}s" if items in ("integer", "number") else f"list of {size} {items}"
    return {"integer": "integer", "number": "number", "boolean": "boolean", "null": "null", "string": "string"}.get(
        str(kind), str(kind)
    )


def _bounds(prop: dict[str, Any]) -> str:
    """Numeric bounds of a property, including union members and list items."""
    members = [prop, *prop.get("anyOf", [])]
    members += [m["items"] for m in list(members) if isinstance(m.get("items"), dict)]
    found: list[str] = []
    for member in members:
        for key, symbol in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
            text = f"{symbol} {member[key]}" if key in member else ""
            if text and text not in found:
                found.append(text)
    return ", ".join(found)


def _params_table(layer: LayerType) -> list[str]:
    schema = layer.json_schema()
    props = schema.get("properties", {})
    if not props:
        return ["No parameters."]
    required = set(schema.get("required", []))
    rows = ["| Parameter | Type | Default | Bounds | Description |", "|---|---|---|---|---|"]
    for name, prop in props.items():
        default = "required" if name in required else f"`{json.dumps(prop.get('default'))}`"
        description = prop.get("description", "").replace("|", "\\|")
        rows.append(
            f"| `{name}` | {_type_of(prop, schema.get('$defs', {}))} | {default} | {_bounds(prop)} | {description} |"
        )
    return rows


def _layer_section(layer: LayerType) -> list[str]:
    lines = [f"#### {layer.name}", "", layer.help, "", f"Shape: `{layer.shape_rule}`."]
    if layer.max_inputs != 1:
        lines += ["", f'Takes {layer.min_inputs} or more inputs, listed in `"inputs"`.']
    lines += ["", *_params_table(layer)]
    if layer.name == "Bidirectional":
        lines += ["", '`layer` is `{"type": "LSTM" or "GRU", "params": {...}}` with that layer\'s parameters.']
    if layer.torch_note:
        lines += ["", f"torch: {layer.torch_note}"]
    return lines + [""]


def render_architecture_docs() -> str:
    all_presets = presets()
    residual = all_presets["residual_cnn"]
    block = dict(residual, layers=residual["layers"][:6])
    encoder = all_presets["text_transformer"]["layers"][:10]
    limits = Limits()
    text = INTRO.format(
        rank=MAX_INPUT_RANK,
        max_dim=MAX_INPUT_DIM,
        reserved=", ".join(f"`{n}`" for n in sorted(GENERATED_NAMES)),
        model_input=MODEL_INPUT,
        small_cnn=json.dumps(all_presets["small_cnn"], indent=2),
        residual_block=json.dumps(block["layers"], indent=2),
        encoder_block=json.dumps(encoder, indent=2),
        max_layers=limits.max_layers,
        max_params=limits.max_params,
        max_input_values=limits.max_input_values,
        max_layer_values=limits.max_layer_values,
    )
    lines = [text.rstrip("\n"), "", "## Presets", "", "| Preset | Description |", "|---|---|"]
    lines += [f"| `{name}` | {spec['description']} |" for name, spec in all_presets.items()]
    lines += ["", "Published models the tests check the parameter counts against:", ""]
    lines += [
        f"- `{name}`: {spec['description']} {count:,} parameters." for name, (spec, count) in ground_truth().items()
    ]
    lines += ["", "## Validation errors", "", "Each error has a `code`, the `layer_id` and `param` it concerns,"]
    lines += ["a `path` into the document, and a `message` that says what would fix it.", ""]
    lines += ["| Code | Meaning |", "|---|---|"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in ERROR_CODES.items()]
    lines += ["", "## Layer reference", ""]
    lines += ["Types: " + ", ".join(f"`{name}`" for name in REGISTRY) + ".", ""]
    lines += ["Activations: " + ", ".join(f"`{a}`" for a in ACTIVATIONS) + '. Padding: `"valid"`, `"same"`.', ""]
    for category in CATEGORIES:
        members = [layer for layer in REGISTRY.values() if layer.category == category]
        if not members:
            continue
        lines += [f"### {category.capitalize()} layers", ""]
        for layer in members:
            lines += _layer_section(layer)
    return "\n".join(lines).rstrip("\n") + "\n"
