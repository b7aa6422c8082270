"""The API calls the command line makes, as a small class a script can use too."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import requests

CHUNK = 1024 * 1024
FINISHED = {"succeeded", "failed", "cancelled"}


class ApiError(Exception):
    """An error answer from the server, with its one-line message and per-field errors."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {message or str(body)[:500]}")


class MultipartStream:
    """A multipart/form-data body read from disk in chunks, with a known length.

    requests sends an object with read() and __len__ as a streamed body with a
    Content-Length header, so a large file never sits in memory and the progress
    callback sees every chunk as it goes out.
    """

    def __init__(self, fields: dict[str, str], file_field: str, path: Path,
                 on_progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.boundary = f"layerloom-{uuid.uuid4().hex}"
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


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    # --- plumbing -------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = path if path.startswith("http") else f"{self.url}/api/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout)
        response = self.session.request(method, url, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise ApiError(response.status_code, body)
        return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else None

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
        body = MultipartStream(fields, "file", file, on_progress)
        # Uploads can be large: no read timeout while the body goes out.
        return self.request("POST", "datasets/", data=body, headers={"Content-Type": body.content_type},  # type: ignore[no-any-return]
                            timeout=(30, None))  # fmt: skip

    def wait_dataset(self, dataset_id: int, timeout: float = 600, interval: float = 1.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            dataset: dict[str, Any] = self.request("GET", f"datasets/{dataset_id}/")
            if dataset["status"] in ("ready", "failed") or time.monotonic() > deadline:
                return dataset
            time.sleep(interval)

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

    def follow_job(self, job_id: int, timeout: float = 3600, interval: float = 1.0,
                   on_metric: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:  # fmt: skip
        """Poll until the job finishes, passing each new epoch's metrics to on_metric."""
        deadline = time.monotonic() + timeout
        since = 0
        while True:
            poll = self.request("GET", f"jobs/{job_id}/metrics/", params={"since_epoch": since})
            for row in poll["results"]:
                since = max(since, row["epoch"])
                if on_metric:
                    on_metric(row)
            if poll["status"] in FINISHED or time.monotonic() > deadline:
                return self.request("GET", f"jobs/{job_id}/")  # type: ignore[no-any-return]
            time.sleep(interval)

    def artifacts(self, job_id: int) -> list[dict[str, Any]]:
        return self.request("GET", f"jobs/{job_id}/artifacts/")  # type: ignore[no-any-return]

    def download(self, artifact: dict[str, Any], directory: str | os.PathLike[str] = ".") -> Path:
        """Stream one artifact to disk and check its sha256 against the server's."""
        target = Path(directory) / Path(artifact["filename"]).name
        digest = hashlib.sha256()
        with self.session.get(artifact["download_url"], stream=True, timeout=(30, None)) as response:
            if response.status_code >= 400:
                raise ApiError(response.status_code, response.json())
            with target.open("wb") as out:
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != artifact["sha256"]:
            target.unlink()
            raise ApiError(0, {"message": f"{artifact['filename']}: checksum mismatch, download again."})
        return target
