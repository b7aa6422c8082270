"""Code generation: Keras and torch.nn modules from a spec, and the train/predict scripts beside them.

Pure Python: it writes source text and never imports TensorFlow, Keras or torch.
"""

from builder.codegen.keras import generate_keras
from builder.codegen.scripts import generate_dataio_module, generate_predict_script, generate_train_script
from builder.codegen.torch import generate_torch, torch_input_permutation

__all__ = [
    "generate_dataio_module",
    "generate_keras",
    "generate_predict_script",
    "generate_torch",
    "generate_train_script",
    "torch_input_permutation",
]
