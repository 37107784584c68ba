"""`govscan demo`: the offline four-account portfolio."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from scanner.cli._common import EXIT_FINDINGS, EXIT_USAGE


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("govscan-out/demo"),
    show_default=True,
    help="Write the evidence pack and the history here (the demo replaces its own history.sqlite).",
)
@click.option("--fast", is_flag=True, help="One scan instead of two (no history to compare): the test suite's mode.")
def demo_command(out_dir: Path, fast: bool) -> None:
    """Scan an offline demo portfolio of four customer accounts and write its evidence pack.

    Starts an emulator (moto) on a free loopback port, builds four SMB customer accounts in it
    (a web shop, a clinic, an accountancy, a logistics API; each meets some controls and has
    gaps), writes DIR/accounts.toml and runs `govscan scan --config DIR/accounts.toml
    --endpoint-url ...` on it: every account is reached by assuming its read-only role with its
    external id. It scans twice (last month, today), with a regression and a fix in between, so
    that `govscan diff` and `govscan status` have a history to show. AWS is never contacted:
    the demo runs on fake credentials, set for this process only.

    \b
    Exit codes:
      0  the evidence pack is written (the matrix, the appendices, the history)
      1  the demo failed (a scan could not complete, or a finding is an ERROR)
      2  the emulator is not installed
    """
    try:
        import moto.server  # noqa: F401 (the demo's emulator; an optional dependency)
    except ImportError:
        click.echo("govscan: the demo needs the emulator: pip install 'govscan[demo]'", err=True)
        sys.exit(EXIT_USAGE)
    from fixtures.demo import DemoError, guide, run_demo

    try:
        run = run_demo(out_dir, fast=fast, echo=click.echo)
    except DemoError as exc:
        click.echo(f"govscan: the demo failed: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    # The commands to try next, spelled the way the user reaches govscan (`.venv/bin/govscan` after
    # `make demo`, when govscan is not on PATH).
    invoked = sys.argv[0]
    by_path = Path(invoked).name == "govscan" and "/" in invoked and not shutil.which("govscan")
    for line in guide(run, program=invoked if by_path else "govscan"):
        click.echo(line)
