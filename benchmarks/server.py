"""The benchmark's emulator: the shared loopback moto server (fixtures/server.py).

Scans run in child processes, which keeps the server's memory out of their peak RSS.
"""

from __future__ import annotations

from fixtures.server import moto_server, reset

__all__ = ["moto_server", "reset"]
