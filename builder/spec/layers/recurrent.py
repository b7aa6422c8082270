"""Recurrent layers: LSTM, GRU and Bidirectional over either."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from builder.spec.layers.conv import require_rank
from builder.spec.params import Params
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape

MAX_RNN_UNITS = 4_096
SEQUENCE_HINT = "add an Embedding (token ids) or a Reshape to (timesteps, features) before it."

LSTM_TORCH_NOTE = (
    "torch.nn.LSTM has two bias vectors (bias_ih and bias_hh) where Keras has one, so the torch model has "
    "4 * units more parameters per direction; with Keras's bias in bias_ih and zeros in bias_hh the two "
    "compute the same outputs (checked in the test suite; each job trains its own weights)."
)


class RNNParams(Params):
    units: int = Field(ge=1, le=MAX_RNN_UNITS, description="Size of the hidden state (and of the output).")
    return_sequences: bool = Field(
        default=False, description="Return the output at every timestep (true) or only the last one (false)."
    )


class LSTMParams(RNNParams):
    pass


class GRUParams(RNNParams):
    pass


def recurrent_output(params: RNNParams, shape: Shape, name: str) -> Shape:
    require_rank(name, shape, 2, SEQUENCE_HINT)
    return (shape[0], params.units) if params.return_sequences else (params.units,)


@register
class LSTM(LayerType):
    name = "LSTM"
    category = "recurrent"
    help = "Long short-term memory over a sequence (tanh activation, sigmoid gates)."
    params_model = LSTMParams
    shape_rule = "(steps, features) -> (units,) or (steps, units) with return_sequences"
    torch_note = LSTM_TORCH_NOTE

    def output_shape(self, params: LSTMParams, inputs: list[Shape]) -> Shape:
        return recurrent_output(params, inputs[0], self.name)

    def param_counts(self, params: LSTMParams, inputs: list[Shape]) -> tuple[int, int]:
        units, features = params.units, inputs[0][-1]
        return (4 * units * (features + units + 1), 0)

    def torch_extra_params(self, params: LSTMParams, inputs: list[Shape]) -> int:
        return 4 * params.units


@register
class GRU(LayerType):
    name = "GRU"
    category = "recurrent"
    help = "Gated recurrent unit over a sequence (Keras's default reset_after=True, the form torch uses)."
    params_model = GRUParams
    shape_rule = "(steps, features) -> (units,) or (steps, units) with return_sequences"
    torch_note = ("Gate order differs (Keras z, r, h; torch r, z, n); the same weights reordered give the same "
                  "outputs (checked in the test suite).")

    def output_shape(self, params: GRUParams, inputs: list[Shape]) -> Shape:
        return recurrent_output(params, inputs[0], self.name)

    def param_counts(self, params: GRUParams, inputs: list[Shape]) -> tuple[int, int]:
        units, features = params.units, inputs[0][-1]
        # reset_after=True keeps separate input and recurrent biases, like torch.
        return (3 * units * (features + units + 2), 0)


class WrappedLSTM(Params):
    type: Literal["LSTM"] = Field(description="The recurrent layer to run in both directions.")
    params: LSTMParams


class WrappedGRU(Params):
    type: Literal["GRU"] = Field(description="The recurrent layer to run in both directions.")
    params: GRUParams


class BidirectionalParams(Params):
    layer: Annotated[WrappedLSTM | WrappedGRU, Field(discriminator="type")] = Field(
        description='The wrapped layer, e.g. {"type": "LSTM", "params": {"units": 32}}.'
    )
    merge_mode: Literal["concat", "sum", "mul", "ave"] = Field(
        default="concat", description="How to combine the forward and backward outputs."
    )


@register
class Bidirectional(LayerType):
    name = "Bidirectional"
    category = "recurrent"
    help = "Runs an LSTM or GRU forwards and backwards over the sequence and merges the two outputs."
    params_model = BidirectionalParams
    shape_rule = "like the wrapped layer; units doubled with merge_mode concat"
    torch_note = "With an LSTM inside, " + LSTM_TORCH_NOTE[0].lower() + LSTM_TORCH_NOTE[1:]

    def output_shape(self, params: BidirectionalParams, inputs: list[Shape]) -> Shape:
        inner = REGISTRY_INNER[params.layer.type]
        shape = inner.output_shape(params.layer.params, inputs)
        if params.merge_mode == "concat":
            return shape[:-1] + (2 * shape[-1],)
        return shape

    def param_counts(self, params: BidirectionalParams, inputs: list[Shape]) -> tuple[int, int]:
        trainable, frozen = REGISTRY_INNER[params.layer.type].param_counts(params.layer.params, inputs)
        return (2 * trainable, 2 * frozen)

    def torch_extra_params(self, params: BidirectionalParams, inputs: list[Shape]) -> int:
        return 2 * REGISTRY_INNER[params.layer.type].torch_extra_params(params.layer.params, inputs)


REGISTRY_INNER: dict[str, LayerType] = {"LSTM": LSTM(), "GRU": GRU()}
