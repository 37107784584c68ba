"""`govscan history`, `diff` and `status`: the periodic-compliance view of stored runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scanner.cli._common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, _split, _store_option


@click.command("history")
@click.option("--account", "label", metavar="LABEL", help="Only this account (label or account id).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_store_option
def history_command(label: str | None, fmt: str, store_path: Path | None) -> None:
    """List the stored runs, oldest first, with their finding counts by status.

    Every `govscan scan` is stored (unless --no-store). An interrupted run is listed but never
    used as an account's latest run by `diff` and `status`.
    """
    import json

    from scanner.history import HistoryError, Store, format_runs

    try:
        runs = Store(store_path).runs(label)
    except HistoryError as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "scan_id": r.scan_id,
                        "label": r.label,
                        "account_id": r.account_id,
                        "started_at": r.started_at,
                        "finished_at": r.finished_at,
                        "complete": r.complete,
                        "counts": dict(r.counts),
                        "digest": r.digest,
                    }
                    for r in runs
                ],
                indent=2,
            )
        )
        return
    for line in format_runs(runs):
        click.echo(line)


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--account", "label", metavar="LABEL", help="The account that `latest`/`previous` refer to.")
@click.option(
    "--fail-on",
    default="none",
    show_default=True,
    metavar="LIST",
    help="Exit 1 on: regression (PASS/N/A -> FAIL, or a control MET -> NOT_MET), new-fail "
    "(anything newly FAIL), newly-error; or none.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_store_option
def diff_command(old: str, new: str, label: str | None, fail_on: str, fmt: str, store_path: Path | None) -> None:
    """What changed between two runs, by finding key (check, resource, region), never by message.

    OLD and NEW are stored scan ids (a unique prefix will do), scan document files, or
    `previous` / `latest` of an account (--account; `previous` is the complete run before NEW).
    Kinds: regression (PASS or N/A -> FAIL), new FAIL (a new resource, or was ERROR), resolved
    (FAIL -> PASS/N/A, or gone with its resource), newly ERROR; and control status changes.

    \b
    Examples:
      govscan diff previous latest --account clinic --fail-on regression
      govscan diff 20260101T0900 evidence/clinic.json

    \b
    Exit codes:
      0  compared; nothing that --fail-on names
      1  a change that --fail-on names
      2  a run cannot be found or read, or a bad option
    """
    import json

    from scanner.diff import FAIL_ON_KINDS, diff_documents, diff_to_json, format_diff, resolve_run, triggered
    from scanner.history import HistoryError, Store

    kinds = set(_split([fail_on])) - {"none"}
    if not kinds <= set(FAIL_ON_KINDS):
        raise click.UsageError(f"--fail-on takes {', '.join(FAIL_ON_KINDS)} or none; got {fail_on!r}")
    store = Store(store_path)
    try:
        newer = resolve_run(new, store, label)
        older = resolve_run(old, store, label, relative_to=newer)
    except HistoryError as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    changes = diff_documents(older, newer)
    if fmt == "json":
        click.echo(json.dumps(diff_to_json(changes), indent=2))
    else:
        for line in format_diff(changes):
            click.echo(line)
    hits = triggered(changes, kinds)
    for hit in hits:
        click.echo(f"govscan: --fail-on: {hit}", err=True)
    sys.exit(EXIT_FINDINGS if hits else EXIT_OK)


@click.command("status")
@click.option("--account", "labels", multiple=True, metavar="LABEL", help="Only these accounts (default: all stored).")
@click.option(
    "--window-start",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Start of the 6-month window (six calendar months) in which the designation must come back.",
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Count the days left from this date (default: today, UTC).",
)
@_store_option
def status_command(labels: tuple[str, ...], window_start: Any, as_of: Any, store_path: Path | None) -> None:
    """Per account and control: the current status (latest complete run), since when it has held,
    when it was last MET; with --window-start, the days left in the 6-month window.

    The window is six calendar months (a start on 31 March ends on 30 September). The last
    block says, per control, which accounts currently meet it: the checklist needs at least one
    of the four customer examples.
    """
    from datetime import UTC, datetime

    from scanner.diff import control_states, format_portfolio, format_status, window
    from scanner.history import HistoryError, Store

    store = Store(store_path)
    try:
        known = store.labels()
        chosen = list(labels) or known
        unknown = [lbl for lbl in chosen if not store.runs(lbl)]
        if unknown:
            raise click.UsageError(f"no stored runs of {', '.join(unknown)} (stored: {', '.join(known) or 'none'})")
        if not chosen:
            click.echo(f"No runs stored in {store.path}.")
            return
        today = (as_of or datetime.now(UTC)).date()
        span = window(window_start.date(), today) if window_start else None
        current = {}
        for lbl in chosen:
            latest = store.latest(lbl)
            if latest is None:
                click.echo(f"{lbl}: no complete run yet (see `govscan history --account {lbl}`)")
                continue
            states = control_states(store.control_timeline(lbl))
            current[latest.label] = states
            for line in format_status(latest.label, latest, states, span):
                click.echo(line)
            click.echo("")
    except HistoryError as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if len(current) > 1:
        for line in format_portfolio(current):
            click.echo(line)
