"""Shared pieces of the CLI: exit codes, option parsing, progress lines, reports, the history store."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from scanner.registry import RegistryError, load_checks

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

EXIT_CODES_HELP = """
\b
Exit codes:
  0  every check evaluated and nothing failed
  1  FAIL or ERROR findings (narrow with --fail-on; regression compares with the last run)
  2  usage or configuration error (nothing scanned)
  3  the target could not be reached (credentials, assume-role); with --config, any account
     (the others are still scanned, written and stored)
"""

FAIL_ON_CHOICES = ("fail", "error", "regression", "new-fail", "none")


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        value: Any = raw.strip()
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        settings[key.strip().replace("-", "_")] = value
    return settings


class _PortfolioProgress:
    """One self-overwriting line for a portfolio: each account's checks done, and the latest event."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.state: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def __call__(self, label: str, done: int, total: int, what: str) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.state[label] = (done, total)
            accounts = " · ".join(f"{name} {d}/{t}" for name, (d, t) in sorted(self.state.items()))
            finished = sum(1 for d, t in self.state.values() if d == t)
            line = f"accounts {finished}/{len(self.state)} done · {accounts} · {label}: {what}"
            click.echo(f"\r  {line[:150]:<150}", nl=False, err=True)

    def clear(self) -> None:
        """Blank the line before something else is printed."""
        if self.enabled:
            with self.lock:
                click.echo("\r" + " " * 152 + "\r", nl=False, err=True)


class _Progress:
    """One self-overwriting status line on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.enabled:
            click.echo(f"\r  [{done}/{total}] {what[:60]:<60}", nl=False, err=True)
            if done == total:
                click.echo("", err=True)


def _load_registry() -> dict[str, Any]:
    try:
        return dict(load_checks())
    except RegistryError as exc:  # a broken check module is a defect, not a user error
        raise click.ClickException(f"check registry is broken: {exc}") from exc


def _report_plan(
    out_dir: Path | None, report_formats: str | None, notes_dir: Path | None, bundle_path: Path | None
) -> tuple[str, ...]:
    """The report formats a scan will write (none without --out/--bundle); checked before scanning."""
    from scanner.report import DEFAULT_FORMATS, ReportError, check_output_dir, parse_formats

    if out_dir is None and bundle_path is None:
        if report_formats or notes_dir:
            raise click.UsageError("--format and --notes go with --out DIR (or --bundle PATH)")
        return ()
    try:
        formats = parse_formats(report_formats) if report_formats else DEFAULT_FORMATS
        if out_dir is not None:
            check_output_dir(out_dir)
    except ReportError as exc:
        raise click.UsageError(str(exc)) from exc
    return formats


def _publish(
    docs: Sequence[dict[str, Any]],
    out_dir: Path | None,
    formats: Sequence[str],
    notes_dir: Path | None,
    bundle_path: Path | None,
    *,
    quiet: bool = False,
) -> None:
    from scanner.report import ReportError, publish

    try:
        published = publish(docs, out_dir=out_dir, formats=formats, notes_dir=notes_dir, bundle=bundle_path)
    except ReportError as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if not quiet:
        for path in published.reports:
            click.echo(f"Report: {path}", err=True)
        if published.bundle:
            click.echo(f"Evidence bundle: {published.bundle} (seal {published.seal})", err=True)


STORE_HELP = (
    "History database. Default: $GOVSCAN_STORE, else $XDG_DATA_HOME/govscan/history.sqlite, "
    "else ~/.local/share/govscan/history.sqlite."
)


def _store_option(func: Any) -> Any:
    return click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), help=STORE_HELP)(func)


def _check_store_options(
    config_path: Path | None,
    account_labels: Sequence[str],
    out_dir: Path | None,
    no_store: bool,
    fail_kinds: set[str],
    *,
    single: dict[str, Any],
) -> None:
    if config_path is not None:
        given = [name for name, value in single.items() if value]
        if given:
            raise click.UsageError(f"{', '.join(given)}: with --config, set these per account in the accounts file")
        if out_dir is None:
            raise click.UsageError("--config writes one scan document per account: give --out DIR")
    elif account_labels:
        raise click.UsageError("--account LABEL goes with --config FILE")
    if no_store and fail_kinds & {"regression", "new-fail"}:
        raise click.UsageError("--fail-on regression/new-fail compare with the stored history: drop --no-store")


def _record(store_path: Path | None, no_store: bool, doc: dict[str, Any], quiet: bool) -> Any:
    """Store a single-account run; print what changed since the account's previous run."""
    from scanner.diff import summary_line
    from scanner.history import Store
    from scanner.portfolio import Recorded, record_run

    if no_store:
        return Recorded()
    recorded = record_run(Store(store_path), doc)
    if recorded.error:
        click.echo(f"govscan: the run was not stored in the history: {recorded.error}", err=True)
    elif not quiet and recorded.diff is not None:
        click.echo(f"Since {recorded.diff.old.scan_id}: {summary_line(recorded.diff)}", err=True)
    return recorded


def _regressed(recorded: Any, fail_kinds: set[str], label: str) -> bool:
    """``--fail-on regression/new-fail``: does the diff with the previous run trip it? (says why)"""
    from scanner.diff import triggered

    if recorded.diff is None:
        return False
    hits = triggered(recorded.diff, fail_kinds)
    for hit in hits:
        click.echo(
            f"govscan: {label}: {hit} since {recorded.diff.old.scan_id} "
            f"(govscan diff previous latest --account {label})",
            err=True,
        )
    return bool(hits)
