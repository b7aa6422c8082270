"""Training jobs, their metrics and artifacts."""
