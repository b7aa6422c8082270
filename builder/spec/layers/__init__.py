"""Layer families; importing this package registers every layer type in order."""

from builder.spec.layers import attention, augmentation, conv, core, merge, normalization, pooling, recurrent

__all__ = ["attention", "augmentation", "conv", "core", "merge", "normalization", "pooling", "recurrent"]
