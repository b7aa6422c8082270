"""Rules for layer ids and the names derived from a spec's free-text name.

Ids become Python identifiers in the generated code (Keras layer names, torch attribute
names and local variables), so they are checked here, once, against everything the
generated modules already use.
"""

from __future__ import annotations

import keyword
import re

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# The id that `inputs` uses to refer to the model input.
MODEL_INPUT = "input"

# Names the generated modules use themselves.
GENERATED_NAMES = frozenset(
    {"keras", "layers", "inputs", "model", "torch", "nn", "F", "np", "self", "x", "INPUT_SHAPE", "INPUT_DTYPE"}
    | {"INPUT_PERMUTATION", "build_model", "super", MODEL_INPUT}
    | {"PositionalEmbedding"}  # a class the modules define when a spec uses that layer
)

# Public attributes of torch.nn.Module (torch 2.x): an attribute with one of these names
# would shadow the method. tests/codegen checks this list against the installed torch.
TORCH_MODULE_ATTRIBUTES = frozenset(
    {
        "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
        "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
        "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia",
        "named_buffers", "named_children", "named_modules", "named_parameters", "parameters",
        "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
        "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook", "register_module", "register_parameter",
        "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
        "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
        "zero_grad",
    }
)  # fmt: skip


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a layer id, or None when it can."""
    if not ID_PATTERN.match(value):
        return (
            "must start with a letter or underscore and contain only letters, digits and underscores "
            "(at most 64 characters), e.g. 'conv1'"
        )
    if value.startswith("_"):
        return "must not start with an underscore (those names are private in Python and torch)"
    if keyword.iskeyword(value):
        return "is a Python keyword"
    if value in GENERATED_NAMES:
        return "is a name the generated code uses itself" + (
            " ('input' refers to the model input in `inputs`)" if value == MODEL_INPUT else ""
        )
    if value in TORCH_MODULE_ATTRIBUTES:
        return "is the name of a torch.nn.Module method or attribute"
    return None


def class_name(spec_name: str) -> str:
    """A CamelCase Python class name from a free-text spec name ("small-cnn" -> "SmallCnn")."""
    words = re.findall(r"[A-Za-z0-9]+", spec_name)
    name = "".join(w[:1].upper() + w[1:] for w in words)[:64]
    if not name or not name[0].isalpha() or name in GENERATED_NAMES:
        name = "Model" + name
    return name[:64]


def model_name(spec_name: str) -> str:
    """A snake_case identifier for the Keras model name ("small-cnn" -> "small_cnn")."""
    words = re.findall(r"[A-Za-z0-9]+", spec_name)
    name = "_".join(w.lower() for w in words)[:64].strip("_")
    if not name or not name[0].isalpha():
        name = "model_" + name if name else "model"
    return name
