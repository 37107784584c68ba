"""govscan: read-only AWS governance evidence scanner for the AWS SMB Competency checklist."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("govscan")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
