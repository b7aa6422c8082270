"""Errors whose message is written for the person who uploaded the data."""

from __future__ import annotations


class DatasetError(Exception):
    """Ingestion cannot go on; str(error) says why and what to do about it."""


class OptionsError(ValueError):
    """Bad upload or options, one message per field (like Django's ValidationError.message_dict)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))

    @property
    def message_dict(self) -> dict[str, list[str]]:
        return {field: [message] for field, message in self.errors.items()}
