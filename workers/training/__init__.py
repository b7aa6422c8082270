"""Running one training job. Modules here that import TensorFlow or torch do so lazily,
inside the child process that runs the job; the rest (hyperparameters, progress, csv) are
plain Python that the web process may import.
"""
