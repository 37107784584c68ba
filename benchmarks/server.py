"""A moto server on loopback, with govscan's moto extensions installed.

The server runs in the benchmark's own process (a thread), so fault injection
(``fixtures.moto_ext.faults``: the per-call delay, the server-side request log) acts on it
directly. Scans run in child processes, which keeps the server's memory out of their peak RSS.
"""

from __future__ import annotations

import importlib
import pkgutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def install_extensions() -> None:
    """Every ``fixtures.moto_ext`` module's ``install()`` (as tests/conftest.py does)."""
    import fixtures.moto_ext as ext

    ext.install()
    for info in pkgutil.iter_modules(ext.__path__):
        module = importlib.import_module(f"fixtures.moto_ext.{info.name}")
        if callable(getattr(module, "install", None)):
            module.install()


@contextmanager
def moto_server() -> Iterator[str]:
    """Start a ThreadedMotoServer on 127.0.0.1 (a free port); yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    install_extensions()  # before the server builds its per-service URL maps
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    """Forget every resource, fault and logged request on the server."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 (our loopback server)
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass
