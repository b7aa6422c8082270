"""The audio kind: clips in class folders -> log-mel spectrograms (kind.py is the DatasetKind).

features.py turns clips into model inputs (ingestion, the predict endpoint and the code
bundle all run it); filterbank.py writes the document's frame sizes and mel filterbank;
ingest.py materialises an upload; preset.py is the audio preset.
"""

from builder.datasets.kinds.audio.kind import AudioKind

__all__ = ["AudioKind"]
