"""A real S3-compatible server for the tests: moto's, in a process of its own on a free port
(no MinIO is packaged for Debian or PyPI). The blob store talks HTTP to it as to any S3."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

from tests.ports import free_port

# moto accepts any credentials; these are passed so the client never looks for real ones.
ACCESS_KEY_ID = "luna-test-key"
SECRET_ACCESS_KEY = "luna-test-secret-value"


@dataclass
class S3Server:
    """A running S3 server process: its endpoint, and how to stop and restart it (an outage)."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> S3Server:
        """Start the server (on the same port as before, if restarted) and wait until it
        answers."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the S3 test server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (its objects are lost: moto keeps them in memory)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def start_s3_server() -> S3Server:
    """A new S3 server on a free port."""
    return S3Server(free_port()).start()


def blob_args(server: S3Server, bucket: str, **overrides: object) -> dict:
    """The ``blobs`` app args for a bucket of ``server`` (created on first use)."""
    return {
        "backend": "s3",
        "endpoint_url": server.endpoint_url,
        "bucket": bucket,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "create_bucket": True,
        **overrides,
    }
