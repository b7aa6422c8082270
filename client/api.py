"""The API calls the command line makes, as a small class a script can use too."""

from __future__ import annotations

import email.utils
import hashlib
import json
import mimetypes
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

import requests

from client.errors import CliError, TimedOut

CHUNK = 1024 * 1024
FINISHED = {"succeeded", "failed", "cancelled", "pruned"}
RETRY_STATUSES = {429, 503}  # "too many requests" and "unavailable": both may say when to come back
GATEWAY_ERRORS = {502, 503, 504}  # a proxy in front of a server that is restarting
LOGS_TOP_FOLDER = "layerloom-logs"  # the folder GET /api/jobs/logs/ puts every job's logs under
MAX_PAGE_SIZE = 200  # the API's cap (api/pagination.py); fewer, larger pages
DATASET_WAIT = 25  # seconds each read of an ingesting dataset asks the server to hold it (its cap is 30)


class ApiError(CliError):
    """An error answer from the server, as one line: the status, its message and each field's problem."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {_one_line(body)}")


class Unreachable(CliError):
    """No answer at all: refused, unknown host, timed out, TLS failure."""

    def __init__(self, url: str, reason: str) -> None:
        self.reason = reason
        super().__init__(f"cannot reach {url}: {reason}. Check --url, LAYERLOOM_URL or the saved login.")


def _one_line(body: Any) -> str:
    if not isinstance(body, dict):
        text = " ".join(str(body).split())
        if text.startswith("<"):  # an HTML error page (a proxy, or not a Layerloom server)
            return "the server answered with a web page, not the API's JSON; check the URL."
        return text[:300] or "(empty answer)"
    entries = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    if not entries:
        return str(body.get("message") or body)[:300]
    parts = []
    for entry in entries[:5]:
        where = ".".join(str(p) for p in (entry.get("field"), entry.get("layer_id"), entry.get("param")) if p)
        parts.append(f"{where}: {entry.get('message')}" if where else str(entry.get("message")))
    more = f" (and {len(entries) - 5} more)" if len(entries) > 5 else ""
    return "; ".join(parts) + more


def _reason(exc: requests.RequestException) -> str:
    """The OS's words for a failed connection ("Connection refused"), not urllib3's nested repr."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    return match.group(1).strip() if match else type(exc).__name__


def _json(response: requests.Response) -> Any:
    if not response.content or "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _next_turn(deadline: float | None, interval: float) -> bool:
    """Sleep until the next poll, the last one at the deadline; False once the deadline has passed."""
    left = interval if deadline is None else deadline - time.monotonic()
    if left <= 0:
        return False
    time.sleep(min(interval, left))
    return True


def retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds, from either of its forms (seconds, or an HTTP date); None when absent."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class MultipartStream:
    """A multipart/form-data body read from disk in chunks, with a known length.

    requests sends an object with read() and __len__ as a streamed body with a
    Content-Length header, so a large file never sits in memory and the progress
    callback sees every chunk as it goes out.
    """

    def __init__(self, fields: dict[str, str], file_field: str, path: Path,
                 on_progress: Callable[[int], None] | None = None, boundary: str | None = None) -> None:  # fmt: skip
        self.boundary = boundary or f"layerloom-{uuid.uuid4().hex}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        safe_name = path.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                 f'filename="{safe_name}"\r\nContent-Type: {content_type}\r\n\r\n').encode()  # fmt: skip
        self._parts: list[bytes | BinaryIO] = [head, path.open("rb"), f"\r\n--{self.boundary}--\r\n".encode()]
        self._length = len(head) + path.stat().st_size + len(self._parts[2])  # type: ignore[arg-type]
        self._on_progress = on_progress
        self._buffer = b""

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        while len(self._buffer) < size and self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                self._buffer += part
                self._parts.pop(0)
            else:
                data = part.read(size)
                if data:
                    self._buffer += data
                    if self._on_progress:  # count the file's bytes only, so the bar ends at its size
                        self._on_progress(len(data))
                else:
                    part.close()
                    self._parts.pop(0)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _unpack_logs(archive: zipfile.ZipFile, into: Path) -> list[str]:
    """The zip's ``layerloom-logs/<job folder>/...`` files under ``into/<job folder>/``; the job
    folders in the zip's order. A member outside one job's folder is refused, never written."""
    folders: list[str] = []
    for info in archive.infolist():
        parts = PurePosixPath(info.filename).parts
        if info.is_dir():
            continue
        odd = any(p in ("", ".", "..") or "\\" in p for p in parts)
        if len(parts) < 3 or parts[0] != LOGS_TOP_FOLDER or odd:
            raise CliError(f"the logs zip holds an unexpected path {info.filename[:80]!r}; nothing was written.")
        if parts[1] not in folders:
            folders.append(parts[1])
        path = into.joinpath(*parts[1:])
        path.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return folders


class Client:
    """The API over HTTP. 429 and 503 answers with a Retry-After are retried after that many
    seconds, at most ``retries`` times and only when the wait is at most ``max_retry_wait``;
    ``on_retry(status, seconds, attempt)`` hears of each wait and ``on_request(method, url,
    status)`` of each answer (the command line's --verbose)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60, retries: int = 5,
                 max_retry_wait: float = 120,
                 on_retry: Callable[[int, float, int], None] | None = None,
                 on_request: Callable[[str, str, int], None] | None = None) -> None:  # fmt: skip
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.on_retry = on_retry
        self.on_request = on_request
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    # --- plumbing -------------------------------------------------------------------

    def send(self, method: str, path: str, body: Callable[[], Any] | None = None, **kwargs: Any) -> requests.Response:
        """One request, retried as the server's Retry-After says; ``body`` makes a fresh body per attempt."""
        url = path if path.startswith("http") else f"{self.url}/api/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout)
        attempt = 0
        while True:
            if body is not None:
                kwargs["data"] = body()
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                raise Unreachable(self.url, _reason(exc)) from None
            if self.on_request:
                self.on_request(method, response.url, response.status_code)
            wait = retry_after(response) if response.status_code in RETRY_STATUSES else None
            if wait is None or attempt >= self.retries or wait > self.max_retry_wait:
                return response
            attempt += 1
            if self.on_retry:
                self.on_retry(response.status_code, wait, attempt)
            response.close()
            time.sleep(wait)

    def request(self, method: str, path: str, body: Callable[[], Any] | None = None, **kwargs: Any) -> Any:
        response = self.send(method, path, body, **kwargs)
        data = _json(response)
        if response.status_code >= 400:
            raise ApiError(response.status_code, data if data is not None else response.text)
        if response.content and data is None:  # a web page or a proxy's answer at this URL
            raise CliError(f"the server at {self.url} answered with something other than the API's JSON; "
                           "check the URL.")  # fmt: skip
        return data

    def list_all(self, path: str, params: dict[str, Any] | None = None, limit: int | None = None,
             page_size: int = MAX_PAGE_SIZE) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        """Every item of a paginated list, following each page's ``next``; with ``limit``, only that many.

        Returns the items and the server's total count, so a caller can say how many were left.
        """
        query: dict[str, Any] = {**(params or {}), "page_size": min(page_size, limit or page_size)}
        items: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", path, params=query)
            items.extend(page["results"])
            if not page.get("next") or (limit is not None and len(items) >= limit):
                return (items if limit is None else items[:limit]), int(page.get("count", len(items)))
            # Only next's query is used: behind a proxy its scheme and host may not be the ones we reach.
            query = dict(parse_qsl(urlsplit(page["next"]).query))

    # --- the steps ------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        token = self.request("POST", "auth/token/", json={"username": username, "password": password})["token"]
        self.session.headers["Authorization"] = f"Token {token}"
        return str(token)

    def logout(self) -> None:
        """Revoke this client's token on the server."""
        self.request("DELETE", "auth/token/")
        self.session.headers.pop("Authorization", None)

    def upload_dataset(self, path: str | os.PathLike[str], kind: str, name: str | None = None,
                       options: dict[str, Any] | None = None,
                       on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:  # fmt: skip
        file = Path(path)
        fields = {"kind": kind, "name": name or file.name, "options": json.dumps(options or {})}
        boundary = f"layerloom-{uuid.uuid4().hex}"  # one boundary, so the header fits every attempt's body
        # Uploads can be large: no read timeout while the body goes out.
        return self.request("POST", "datasets/", body=lambda: MultipartStream(fields, "file", file, on_progress, boundary),  # type: ignore[no-any-return]
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                            timeout=(30, None))  # fmt: skip

    def wait_dataset(self, dataset_id: int, timeout: float | None = None, interval: float = 1.0) -> dict[str, Any]:
        """Wait until ingestion ends (ready or failed); TimedOut when ``timeout`` seconds pass first.

        Each read asks the server to hold its answer until then (?wait=, up to DATASET_WAIT s), so the
        end is seen as it happens. A server that answers early while still ingesting (it holds only so
        many reads at once) is read again after ``interval``, as a plain poll."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            hold = DATASET_WAIT if deadline is None else max(0.0, min(DATASET_WAIT, deadline - time.monotonic()))
            asked = time.monotonic()
            dataset: dict[str, Any] = self.request("GET", f"datasets/{dataset_id}/", params={"wait": f"{hold:.3f}"},
                                                   timeout=self.timeout + hold)  # fmt: skip
            if dataset["status"] in ("ready", "failed"):
                return dataset
            held = time.monotonic() - asked >= hold / 2  # else the server declined to hold it: pause as a poll
            if held and (deadline is None or time.monotonic() < deadline):
                continue
            if not _next_turn(deadline, interval):
                raise TimedOut(f"dataset {dataset_id} is still {dataset['status']} after {timeout:g} s; "
                               f"check later with `layerloom datasets {dataset_id}`.")  # fmt: skip

    def create_architecture(self, spec: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"spec": spec}
        if name:
            body["name"] = name
        return self.request("POST", "architectures/", json=body)  # type: ignore[no-any-return]

    def start_job(self, dataset: int, framework: str, architecture: int | None = None,
                  spec: dict[str, Any] | None = None, hyperparameters: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        body = {"dataset": dataset, "framework": framework, "architecture": architecture, "spec": spec,
                "hyperparameters": hyperparameters or {}}  # fmt: skip
        return self.request("POST", "jobs/", json=body)  # type: ignore[no-any-return]

    def follow_job(self, job_id: int, timeout: float | None = None, interval: float = 1.0,
                   on_metric: Callable[[dict[str, Any]], None] | None = None,
                   on_poll: Callable[[dict[str, Any]], None] | None = None,
                   on_contact: Callable[[str | None], None] | None = None,
                   patience: float = 300) -> dict[str, Any]:  # fmt: skip
        """Poll until the job finishes, passing each new epoch's metrics to on_metric and each
        poll (status, epoch, total_epochs, percent, eta_seconds) to on_poll. No cap unless
        ``timeout`` is given (TimedOut then): a job may train for hours.

        Once following, a server out of reach (or a proxy's 502/503/504, as during a restart)
        is waited out for up to ``patience`` seconds; on_contact hears the error when contact
        is lost and None when it is back.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        since, state = 0, "unknown"
        lost_at: float | None = None
        followed = False  # a first request that fails is a wrong URL or token, not a blip
        while True:
            try:
                poll = self.request("GET", f"jobs/{job_id}/metrics/", params={"since_epoch": since})
            except (Unreachable, ApiError) as exc:
                transient = isinstance(exc, Unreachable) or exc.status in GATEWAY_ERRORS
                if not (followed and transient) or (lost_at is not None and time.monotonic() - lost_at > patience):
                    raise
                if lost_at is None:
                    lost_at = time.monotonic()
                    if on_contact:
                        on_contact(exc.reason if isinstance(exc, Unreachable) else str(exc))
            else:
                if lost_at is not None and on_contact:
                    on_contact(None)
                lost_at, followed, state = None, True, poll["status"]
                if on_poll:
                    on_poll(poll)
                for row in poll["results"]:
                    since = max(since, row["epoch"])
                    if on_metric:
                        on_metric(row)
                if state in FINISHED:
                    return self.request("GET", f"jobs/{job_id}/")  # type: ignore[no-any-return]
            if not _next_turn(deadline, interval):
                raise TimedOut(f"job {job_id} is still {state} after {timeout:g} s (it goes on); "
                               f"follow it again with `layerloom follow {job_id}`.")  # fmt: skip

    def artifacts(self, job_id: int) -> list[dict[str, Any]]:
        return self.request("GET", f"jobs/{job_id}/artifacts/")  # type: ignore[no-any-return]

    def download(self, artifact: dict[str, Any], directory: str | os.PathLike[str] = ".") -> Path:
        """Stream one artifact to disk and check its sha256 against the server's."""
        target = Path(directory) / Path(artifact["filename"]).name
        digest = hashlib.sha256()
        with self.send("GET", artifact["download_url"], stream=True, timeout=(30, None)) as response:
            if response.status_code >= 400:
                body = _json(response)
                raise ApiError(response.status_code, body if body is not None else response.text)
            with target.open("wb") as out:
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != artifact["sha256"]:
            target.unlink()
            raise CliError(f"{artifact['filename']}: checksum mismatch, download again.")
        return target

    def job_logs(self, job_ids: list[int], directory: str | os.PathLike[str]) -> list[Path]:
        """Several jobs' TensorBoard logs laid out as one log folder: ``directory/job-<id>-.../``
        per job (GET /api/jobs/logs/?ids=...), each replacing a folder of the same name there.
        Returns the jobs' folders, in the order asked."""
        target = Path(directory)
        with tempfile.TemporaryFile() as spooled:
            with self.send("GET", "jobs/logs/", params={"ids": ",".join(map(str, job_ids))}, stream=True,
                           timeout=(30, None)) as response:  # fmt: skip
                if response.status_code >= 400:
                    body = _json(response)
                    raise ApiError(response.status_code, body if body is not None else response.text)
                for chunk in response.iter_content(CHUNK):
                    spooled.write(chunk)
            spooled.seek(0)
            try:
                archive = zipfile.ZipFile(spooled)
            except zipfile.BadZipFile:
                raise CliError(f"the server at {self.url} did not answer with a zip of logs; check the URL.") from None
            target.mkdir(parents=True, exist_ok=True)
            with archive, tempfile.TemporaryDirectory(dir=target, prefix=".layerloom-logs-") as work:
                folders = _unpack_logs(archive, Path(work))
                for name in folders:
                    shutil.rmtree(target / name, ignore_errors=True)
                    os.replace(Path(work) / name, target / name)
        return [target / name for name in folders]
