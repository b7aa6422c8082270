"""Architectures and datasets, each private to its owner."""

from builder.models.architecture import Architecture
from builder.models.dataset import Dataset

__all__ = ["Architecture", "Dataset"]
