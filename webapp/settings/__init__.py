"""Settings split by environment: base (development, `make run`), test, production."""
