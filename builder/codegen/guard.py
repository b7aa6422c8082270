"""A static gate in front of every generated module: parse it, allow only known imports and calls.

Generated code never contains user text except validated values written with ``repr``,
so this is defence in depth: if a bug ever let text through, the module is refused
before anything imports it.
"""

from __future__ import annotations

import ast
import linecache
import types
from dataclasses import dataclass

from builder.spec.registry import REGISTRY


class GuardError(ValueError):
    """Generated source uses something outside the allowlist."""


@dataclass(frozen=True)
class Policy:
    modules: frozenset[str]  # modules that may be imported (from-imports may take any public name)
    calls: frozenset[str] | None  # dotted callables of those modules; None: any public attribute
    builtins: frozenset[str]  # builtins that may be called
    methods: frozenset[str] | None  # methods callable on values; None: any public method
    dunder_names: frozenset[str] = frozenset()  # e.g. `if __name__ == "__main__":` in scripts
    call_locals: bool = False  # calling a local value, e.g. model(x) in a training loop


_NN = ("Linear", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d")
_NN += ("LayerNorm", "Dropout", "Embedding", "LSTM", "GRU", "Dropout1d", "Dropout2d", "Upsample", "ConvTranspose2d")
_NN += ("MultiheadAttention",)
_TORCH = ("relu", "sigmoid", "tanh", "softmax", "cat", "ones_like", "rand", "where", "cos", "sin", "stack", "zeros_like")
_FUNCTIONAL = ("gelu", "elu", "selu", "silu", "leaky_relu", "pad", "affine_grid", "grid_sample")

MODEL_POLICY = Policy(
    modules=frozenset({"__future__", "keras", "keras.layers", "torch", "torch.nn", "torch.nn.functional"}),
    calls=frozenset(
        {"keras.Sequential", "keras.Input", "keras.Model"}
        | {"keras.saving.register_keras_serializable", "keras.ops.arange"}
        | {f"keras.layers.{t}" for t in REGISTRY}
        | {f"torch.nn.{c}" for c in _NN}
        | {f"torch.{f}" for f in _TORCH}
        | {f"torch.nn.functional.{f}" for f in _FUNCTIONAL}
    ),
    builtins=frozenset({"super"}),
    methods=frozenset({"permute", "transpose", "flatten", "reshape", "mean", "long", "amax", "flip", "clamp"})
    | {"get_config", "build"},
)

# train.py, predict.py and dataio.py (builder.codegen.scripts), and each dataset kind's
# kindio.py: the standard library they need, the frameworks, and the bundle's own modules
# next to them (a kind adds the modules its kindio.py imports: DatasetKind.bundle_imports).
SCRIPT_POLICY = Policy(
    modules=MODEL_POLICY.modules
    | {"argparse", "collections.abc", "csv", "json", "sys", "pathlib", "typing", "numpy"}
    | {"torch.utils.data", "safetensors.torch", "model", "preprocessing", "csvsafe", "heads", "dataio", "schedules", "math"}
    | {"kindio"},  # the dataset kind's reader (builder.datasets.kinds: DatasetKind.bundle_modules)
    calls=None,
    builtins=frozenset({"super", "print", "range", "len", "float", "int", "str", "list", "dict", "zip", "enumerate"})
    | {"min", "max", "sum", "round", "sorted", "tuple", "isinstance", "map", "format", "SystemExit", "ValueError"},
    methods=None,
    dunder_names=frozenset({"__name__", "__doc__", "__file__"}),
    call_locals=True,
)

# Never callable or even nameable, whatever the policy says.
FORBIDDEN_NAMES = frozenset(
    {"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr", "delattr"}
    | {"breakpoint", "input", "memoryview", "__builtins__", "__loader__", "__spec__", "exit", "quit", "help"}
)
FORBIDDEN_NODES = (
    ast.Global,
    ast.Nonlocal,
    ast.AsyncFunctionDef,
    ast.AsyncFor,
    ast.AsyncWith,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.Lambda,
)


def check_source(source: str, policy: Policy = MODEL_POLICY) -> None:
    """Raise GuardError unless every import and call in ``source`` is allowed."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise GuardError(f"generated source does not parse: {exc.msg} (line {exc.lineno})") from exc
    _Checker(policy, tree).visit(tree)


def load_module(source: str, name: str, policy: Policy = MODEL_POLICY) -> types.ModuleType:
    """Check ``source`` and execute it as a fresh module called ``name`` (no file needed)."""
    check_source(source, policy)
    module = types.ModuleType(name)
    filename = f"<generated {name}>"
    module.__file__ = filename
    # Tracebacks from generated code then show its lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - source passed check_source
    return module


class _Checker(ast.NodeVisitor):
    def __init__(self, policy: Policy, tree: ast.Module) -> None:
        self.policy = policy
        self.aliases: dict[str, str] = {}  # local name -> imported module or object path
        self.defined = {
            node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
        }  # module-level functions and classes may be called

    def fail(self, node: ast.AST, why: str) -> None:
        raise GuardError(f"line {getattr(node, 'lineno', '?')}: {why}")

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, FORBIDDEN_NODES):
            self.fail(node, f"{type(node).__name__} is not allowed in generated code")
        super().generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in self.policy.modules:
                self.fail(node, f"import of {alias.name!r} is not allowed")
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module not in self.policy.modules:
            self.fail(node, f"import from {module or '.'!r} is not allowed")
        for alias in node.names:
            if alias.name == "*" or alias.name.startswith("_"):
                self.fail(node, f"import of {alias.name!r} from {module!r} is not allowed")
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.fail(node, f"use of {node.id!r} is not allowed")
        if node.id.startswith("__") and node.id not in self.policy.dunder_names:
            self.fail(node, f"use of {node.id!r} is not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        is_super_init = (
            node.attr == "__init__"
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "super"
        )
        if node.attr.startswith("_") and not is_super_init:
            self.fail(node, f"access to the private attribute {node.attr!r} is not allowed")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.check_callee(node.func, node)
        self.generic_visit(node)

    def check_callee(self, func: ast.expr, node: ast.Call) -> None:
        if isinstance(func, ast.Name):
            if func.id in self.aliases:
                self.check_module_call(self.aliases[func.id], node)
            elif func.id not in self.defined and func.id not in self.policy.builtins and not self.policy.call_locals:
                self.fail(node, f"call of {func.id!r} is not allowed")
            return
        if isinstance(func, ast.Call):
            return  # calling what an allowed call built, e.g. layers.Dense(10)(x); the inner call is checked
        if isinstance(func, ast.Subscript) and self.policy.call_locals:
            return  # a value looked up in a table, e.g. OPTIMIZERS[name](...); the lookup is visited as usual
        if not isinstance(func, ast.Attribute):
            self.fail(node, "only calls of names and attributes are allowed")
            return
        parts = [func.attr]
        value = func.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        parts.reverse()
        if isinstance(value, ast.Name) and value.id in self.aliases:
            self.check_module_call(".".join([self.aliases[value.id], *parts]), node)
        elif isinstance(value, ast.Name) and value.id == "self" and len(parts) == 1:
            return  # a submodule of this nn.Module
        elif func.attr == "__init__":
            return  # super().__init__(), checked in visit_Attribute
        elif self.policy.methods is not None and func.attr not in self.policy.methods:
            self.fail(node, f"call of the method {func.attr!r} is not allowed")

    def check_module_call(self, dotted: str, node: ast.Call) -> None:
        if self.policy.calls is not None and dotted not in self.policy.calls:
            self.fail(node, f"call of {dotted!r} is not allowed")
