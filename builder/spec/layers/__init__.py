"""Layer families; importing this package registers every layer type in order."""

from builder.spec.layers import conv, core, merge, normalization, pooling, recurrent

__all__ = ["conv", "core", "merge", "normalization", "pooling", "recurrent"]
