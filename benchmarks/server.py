"""The benchmark's emulator: the shared loopback moto server (fixtures/server.py).

Scans run in child processes, which keeps the server's memory out of their peak RSS.
"""

from __future__ import annotations

import os

from fixtures.server import moto_server, reset

__all__ = ["moto_server", "offline_environment", "reset"]


def offline_environment(endpoint: str | None = None) -> None:
    """Fake credentials, no profile or config file: nothing here can reach a real account.
    With ``endpoint``, every client is pointed at the emulator too (the scan child)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 (moto's fake credentials)
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/nonexistent/govscan-bench-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/govscan-bench-credentials",
    )
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
