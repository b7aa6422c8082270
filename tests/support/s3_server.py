"""An S3-compatible server (moto's server mode) on a free loopback port, in its own process.

Tests that run Layerloom against an object store start one, create a bucket, and give every
process (this one through settings, workers through `env`) the same LAYERLOOM_S3_* variables.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from tests.support.redis_server import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "layerloom-test", "AWS_SECRET_ACCESS_KEY": "layerloom-test-secret"}
REGION = "us-east-1"


@dataclass
class S3Server:
    folder: Path
    port: int = 0
    bucket: str = field(default_factory=lambda: f"layerloom-{uuid.uuid4().hex[:8]}")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        """What a Layerloom process needs to use the bucket as its file store."""
        return {**CREDENTIALS, "LAYERLOOM_S3_BUCKET": self.bucket, "LAYERLOOM_S3_ENDPOINT_URL": self.url,
                "LAYERLOOM_S3_REGION": REGION}  # fmt: skip

    def start(self, timeout: float = 60) -> None:
        self.port = self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "moto.log", "ab")  # noqa: SIM115 - the server owns it while it runs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().create_bucket(Bucket=self.bucket)
                return
            except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log_text = (self.folder / "moto.log").read_text()[-2000:]
                    raise AssertionError(f"moto server did not start:\n{log_text}") from None
                time.sleep(0.1)

    def keys(self, prefix: str = "") -> list[str]:
        found: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def store_settings(server: S3Server, presigned: bool = True) -> dict[str, Any]:
    """Django settings that make this process use the server's bucket (for `settings` overrides)."""
    return {
        "LAYERLOOM_S3_BUCKET": server.bucket, "LAYERLOOM_S3_PRESIGNED_DOWNLOADS": presigned,
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            "layerloom": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
                "bucket_name": server.bucket, "endpoint_url": server.url, "region_name": REGION,
                "access_key": CREDENTIALS["AWS_ACCESS_KEY_ID"], "secret_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                "file_overwrite": True, "default_acl": None, "querystring_auth": True, "addressing_style": "path",
                "signature_version": "s3v4"}},
        },
    }  # fmt: skip
