"""Exit statuses and the errors that carry them, so scripts can tell what went wrong."""

from __future__ import annotations

OK = 0
API_ERROR = 1  # the server refused the request, answered with an error, or could not be reached
USAGE = 2  # the command line is wrong (argparse uses 2 too), or a file it names cannot be read
JOB_FAILED = 3  # the job (or the dataset's ingestion) ended failed or cancelled
TIMED_OUT = 4  # --timeout passed before the job or dataset finished
INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class CliError(Exception):
    """A one-line message for stderr and the exit status that goes with it."""

    code = API_ERROR

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(CliError):
    code = USAGE


class WorkFailed(CliError):
    code = JOB_FAILED


class TimedOut(CliError):
    code = TIMED_OUT
