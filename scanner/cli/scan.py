"""`govscan scan`: one account, or a portfolio from an accounts file."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from scanner.catalog import load_catalog
from scanner.cli._common import (
    EXIT_CODES_HELP,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    FAIL_ON_CHOICES,
    _check_store_options,
    _load_registry,
    _parse_settings,
    _PortfolioProgress,
    _Progress,
    _publish,
    _record,
    _regressed,
    _report_plan,
    _split,
)
from scanner.document import dumps, to_document, validate, write_atomic
from scanner.models import ScanRun, Status
from scanner.runner import ScanOptions, SelectionError, scan, select_checks
from scanner.session import ConnectOptions, TargetUnreachable, connect


@click.command("scan", epilog=EXIT_CODES_HELP)
@click.option("--profile", metavar="P", help="AWS profile for the starting credentials (default chain if omitted).")
@click.option("--role-arn", metavar="ARN", help="Role to assume in the customer account (the read-only scan role).")
@click.option("--external-id", metavar="X", help="External id the role's trust policy requires.")
@click.option("--label", metavar="NAME", help="A name for the account in reports (default: the account id).")
@click.option("--regions", metavar="r1,r2", help="Regions to scan (default: the profile's region or us-east-1).")
@click.option("--all-regions", is_flag=True, help="Scan every region enabled in the account.")
@click.option("--checks", "check_ids", multiple=True, metavar="ids", help="Only these check ids (comma list).")
@click.option("--controls", "control_ids", multiple=True, metavar="ids", help="Only checks evidencing these controls.")
@click.option("--endpoint-url", metavar="URL", help="Send every call to this endpoint (an emulator such as moto).")
@click.option("--json", "json_path", metavar="PATH", help="Write the scan document here ('-' for stdout).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Write evidence reports here.")
@click.option(
    "--format", "report_formats", metavar="LIST", help="Report formats: html,md,csv,xlsx or all (default html,md)."
)
@click.option(
    "--notes",
    "notes_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The partner's narratives: DIR/<account id or label>/<CONTROL>.md.",
)
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a sealed evidence bundle (zip) of the document and reports.",
)
@click.option(
    "--fail-on",
    default="fail,error",
    show_default=True,
    metavar="LIST",
    help="What makes the exit code 1: fail, error (findings), regression (a PASS/N/A finding now FAIL, or a "
    "control MET -> NOT_MET, since the account's previous stored run), new-fail (anything newly FAIL), or none.",
)
@click.option(
    "--set", "set_pairs", multiple=True, metavar="KEY=VALUE", help="A check setting, e.g. root_unused_days=30."
)
@click.option(
    "--rpo-hours",
    type=click.FloatRange(min=0, min_open=True),
    help="Declared recovery point objective; backup_rpo_rto_targets compares the backup schedules with it.",
)
@click.option(
    "--rto-hours",
    type=click.FloatRange(min=0, min_open=True),
    help="Declared recovery time objective; compared with the observed restore durations.",
)
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64), help="Concurrent checks.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Scan the accounts of this accounts file (TOML, see examples/accounts.toml) into --out DIR.",
)
@click.option(
    "--account", "account_labels", multiple=True, metavar="LABEL", help="With --config: only this account (repeatable)."
)
@click.option(
    "--parallel",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="With --config: accounts scanned at once.",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="History database (default: $GOVSCAN_STORE, else $XDG_DATA_HOME/govscan/history.sqlite, "
    "else ~/.local/share/govscan/history.sqlite).",
)
@click.option("--no-store", is_flag=True, help="Do not record this run in the history.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def scan_command(
    profile: str | None,
    role_arn: str | None,
    external_id: str | None,
    label: str | None,
    regions: str | None,
    all_regions: bool,
    check_ids: tuple[str, ...],
    control_ids: tuple[str, ...],
    endpoint_url: str | None,
    json_path: str | None,
    out_dir: Path | None,
    report_formats: str | None,
    notes_dir: Path | None,
    bundle_path: Path | None,
    fail_on: str,
    set_pairs: tuple[str, ...],
    rpo_hours: float | None,
    rto_hours: float | None,
    workers: int,
    config_path: Path | None,
    account_labels: tuple[str, ...],
    parallel: int,
    store_path: Path | None,
    no_store: bool,
    quiet: bool,
) -> None:
    """Scan one AWS account, read-only, and write its scan document.

    With --config, scan every account of an accounts file (at most --parallel at once): one
    document per account (DIR/<label>.json) and the reports, with the cross-account matrix,
    in --out DIR. An account that cannot be reached is reported with the reason; the others
    are still scanned. Every run is stored in the history (see `govscan history`).

    \b
    Examples:
      govscan scan --regions us-east-1,eu-west-1 --json scan.json
      govscan scan --profile partner --role-arn arn:aws:iam::111122223333:role/GovscanReadOnly \\
                   --external-id 7f3c... --label clinic --all-regions --json clinic.json
      govscan scan --controls ACCT-001 --json -          # ACCT-001 only, to stdout
      govscan scan --endpoint-url http://127.0.0.1:5000  # against a moto server
      govscan scan --config accounts.toml --out evidence --fail-on regression   # cron/CI
    """
    fail_kinds = set(_split([fail_on]))
    if not fail_kinds <= set(FAIL_ON_CHOICES):
        raise click.UsageError(f"--fail-on takes {', '.join(FAIL_ON_CHOICES)}; got {fail_on!r}")
    _check_store_options(
        config_path,
        account_labels,
        out_dir,
        no_store,
        fail_kinds,
        single={
            "--profile": profile,
            "--role-arn": role_arn,
            "--external-id": external_id,
            "--label": label,
            "--regions": regions,
            "--all-regions": all_regions,
            "--json": json_path,
        },
    )
    if regions and all_regions:
        raise click.UsageError("use either --regions or --all-regions, not both")
    if external_id and not role_arn:
        raise click.UsageError("--external-id goes with --role-arn")
    settings = _parse_settings(set_pairs)
    settings.update({k: v for k, v in (("rpo_hours", rpo_hours), ("rto_hours", rto_hours)) if v is not None})
    formats = _report_plan(out_dir, report_formats, notes_dir, bundle_path)
    catalog = load_catalog()
    registry = _load_registry()
    try:
        checks = select_checks(registry, catalog, check_ids=_split(check_ids), control_ids=_split(control_ids))
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from exc
    if config_path is not None:
        _scan_portfolio(
            config_path,
            account_labels,
            checks=checks,
            catalog=catalog,
            partial=bool(check_ids or control_ids),
            settings=settings,
            endpoint_url=endpoint_url,
            out_dir=out_dir,
            formats=formats,
            notes_dir=notes_dir,
            bundle_path=bundle_path,
            parallel=parallel,
            workers=workers,
            store_path=store_path,
            no_store=no_store,
            fail_kinds=fail_kinds,
            quiet=quiet,
        )
    region_list = tuple(_split([regions])) if regions else ()
    home = region_list[0] if region_list else _default_region()
    try:
        connection = connect(
            ConnectOptions(
                profile=profile,
                role_arn=role_arn,
                external_id=external_id,
                endpoint_url=endpoint_url,
                home_region=home,
                max_pool=workers * 4 + 8,
            )
        )
    except TargetUnreachable as exc:
        click.echo(f"govscan: target unreachable: {exc}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    # SIGTERM (a CI timeout, `kill`) stops the scan like Ctrl-C: the document is still written,
    # marked incomplete, and never counts as a complete run.
    signal.signal(signal.SIGTERM, _interrupt)
    show = not quiet and sys.stderr.isatty()
    if not quiet:
        click.echo(
            f"Scanning account {connection.account_id} as {connection.principal_arn} ({len(checks)} checks)...",
            err=True,
        )
    run = scan(
        connection,
        checks,
        catalog,
        ScanOptions(
            label=label or "",
            regions=region_list,
            all_regions=all_regions,
            home_region=home,
            settings=settings,
            workers=workers,
            partial=bool(check_ids or control_ids),
        ),
        progress=_Progress(show),
    )
    doc = to_document(run)
    validate(doc)
    if json_path == "-":
        click.echo(dumps(doc), nl=False)
    elif json_path:
        try:
            write_atomic(Path(json_path), dumps(doc))
        except OSError as exc:
            click.echo(dumps(doc), nl=False)
            click.echo(f"govscan: could not write {json_path} ({exc}); the document went to stdout", err=True)
            sys.exit(EXIT_USAGE)
    if formats:
        _publish([doc], out_dir, formats, notes_dir, bundle_path, quiet=quiet)
    recorded = _record(store_path, no_store, doc, quiet)
    if not quiet:
        _print_summary(run, json_path)
    code = _exit_code(run, fail_kinds)
    if _regressed(recorded, fail_kinds, run.target.label):
        code = EXIT_FINDINGS
    sys.exit(code)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _default_region() -> str:
    import boto3  # only to read the configured default region; creates no client

    return boto3.Session().region_name or "us-east-1"


def _exit_code(run: ScanRun, fail_kinds: set[str]) -> int:
    statuses = {f.status for f in run.findings}
    if "fail" in fail_kinds and Status.FAIL in statuses:
        return EXIT_FINDINGS
    if "error" in fail_kinds and Status.ERROR in statuses:
        return EXIT_FINDINGS
    if not run.complete:
        return EXIT_FINDINGS
    return EXIT_OK


def _print_summary(run: ScanRun, json_path: str | None) -> None:
    counts = Counter(f.status.value for f in run.findings)
    parts = ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in Status)
    click.echo(
        f"Account {run.target.account_id}: {len(run.findings)} findings ({parts}); {len(run.calls)} API calls.",
        err=True,
    )
    for skip in run.skipped_regions:
        click.echo(f"  skipped region {skip.region}: {skip.reason}", err=True)
    for control in run.controls:
        if control.status.value != "MANUAL":
            click.echo(f"  {control.id:<11} {control.status.value}", err=True)
    if json_path and json_path != "-":
        click.echo(f"Scan document: {json_path}", err=True)
    if not run.complete:
        click.echo("The scan was interrupted: the document is marked incomplete.", err=True)


def _scan_portfolio(
    config_path: Path,
    labels: Sequence[str],
    *,
    checks: dict[str, Any],
    catalog: Any,
    partial: bool,
    settings: dict[str, Any],
    endpoint_url: str | None,
    out_dir: Path | None,
    formats: Sequence[str],
    notes_dir: Path | None,
    bundle_path: Path | None,
    parallel: int,
    workers: int,
    store_path: Path | None,
    no_store: bool,
    fail_kinds: set[str],
    quiet: bool,
) -> None:
    from scanner.config import ConfigError, load_accounts
    from scanner.diff import summary_line
    from scanner.history import Store
    from scanner.portfolio import AccountResult, PortfolioOptions, scan_portfolio

    try:
        config = load_accounts(config_path)
        accounts = config.select(labels)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(f"govscan: {issue}", err=True)
        sys.exit(EXIT_USAGE)
    if out_dir is None:
        raise click.UsageError("--config writes one scan document per account: give --out DIR")
    if not quiet:
        click.echo(
            f"Scanning {len(accounts)} account(s) from {config_path}, {parallel} at a time ({len(checks)} checks)...",
            err=True,
        )

    progress = _PortfolioProgress(not quiet and sys.stderr.isatty())

    def report(result: AccountResult) -> None:
        progress.clear()
        name = result.account.label
        if result.unreachable:
            click.echo(f"{name}: UNREACHABLE: {result.unreachable}", err=True)
        elif result.failure:
            click.echo(f"{name}: FAILED (a govscan defect, see the log): {result.failure}", err=True)
        elif not quiet and result.document is not None:
            counts = Counter(f["status"] for f in result.document["findings"])
            parts = ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in Status)
            click.echo(f"{name} ({result.document['target']['account_id']}): {parts} -> {result.path}", err=True)
            if result.recorded.diff is not None:
                click.echo(
                    f"  since {result.recorded.diff.old.scan_id}: {summary_line(result.recorded.diff)}", err=True
                )
        if result.recorded.error:
            click.echo(f"govscan: {name}: the run was not stored in the history: {result.recorded.error}", err=True)

    results = scan_portfolio(
        accounts,
        checks,
        catalog,
        PortfolioOptions(
            out_dir=out_dir,
            endpoint_url=endpoint_url,
            parallel=parallel,
            workers=workers,
            partial=partial,
            settings=settings,
            progress=progress,
        ),
        store=None if no_store else Store(store_path),
        on_result=report,
    )
    docs = [r.document for r in results if r.document is not None]
    if docs and formats:
        _publish(docs, out_dir, formats, notes_dir or config.notes_dir, bundle_path, quiet=quiet)
    unreachable = [r.account.label for r in results if r.unreachable]
    failed = [r.account.label for r in results if r.failure]
    tripped = False
    for result in results:
        if result.document is None:
            continue
        statuses = {f["status"] for f in result.document["findings"]}
        if ("fail" in fail_kinds and "FAIL" in statuses) or ("error" in fail_kinds and "ERROR" in statuses):
            tripped = True
        if not result.document.get("complete", True):
            tripped = True
        if _regressed(result.recorded, fail_kinds, result.account.label):
            tripped = True
    click.echo(
        f"Portfolio: {len(docs)} of {len(results)} account(s) scanned"
        + (f"; unreachable: {', '.join(unreachable)}" if unreachable else "")
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        err=True,
    )
    if unreachable:
        sys.exit(EXIT_UNREACHABLE)
    sys.exit(EXIT_FINDINGS if failed or tripped else EXIT_OK)
