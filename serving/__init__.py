"""Predictions from trained models on ONNX Runtime, in the web process, and named model endpoints.

Pure numpy, Pillow and onnxruntime: never TensorFlow or torch (tests/foundation checks it).
The API and the browser call serving.predict; nothing here knows about HTTP.
"""
