"""govscan's command line: the only place that prints and chooses exit codes.

Exit codes (also in ``govscan --help``):
  0  every check evaluated and nothing failed
  1  FAIL or ERROR findings (narrowed by --fail-on)
  2  usage or configuration error (nothing scanned)
  3  the target could not be reached (credentials, assume-role)
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from scanner import __version__
from scanner.catalog import load_catalog
from scanner.document import dumps, to_document, validate, write_atomic
from scanner.models import RegionSkip, ScanRun, Status
from scanner.regions import UPGRADE_HINT, unknown_region_problems
from scanner.registry import RegistryError, load_checks
from scanner.runner import NoRegionToScan, ScanOptions, SelectionError, scan, select_checks
from scanner.session import ConnectOptions, TargetUnreachable, connect

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

EXIT_CODES_HELP = """
\b
Exit codes:
  0  every check evaluated and nothing failed
  1  FAIL or ERROR findings (narrow with --fail-on; regression compares with the last run)
  2  usage or configuration error (nothing scanned)
  3  the target could not be reached (credentials, assume-role); with --config, any account
     (the others are still scanned, written and stored)

An interrupted scan (Ctrl-C, or SIGTERM such as a CI timeout) exits 1 (not everything was
evaluated): checks under way stop at their next call, and a scan already connected still
writes its document, marked incomplete (listed by `history`, never used as the latest run).
"""

FAIL_ON_CHOICES = ("fail", "error", "regression", "new-fail", "none")


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    from scanner.settings import SettingError, parse_text

    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        name = key.strip().replace("-", "_")
        try:
            settings[name] = parse_text(name, raw)
        except SettingError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from exc
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


def _evidence_options(func: Any) -> Any:
    """--notes and --bundle, the same for `scan` and `report`."""
    func = click.option(
        "--bundle",
        "bundle_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write a sealed evidence bundle (zip): the documents, the reports and a SHA-256 manifest.",
    )(func)
    return click.option(
        "--notes",
        "notes_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="The partner's narratives: DIR/<account id or label>/<CONTROL>.md.",
    )(func)


@click.group(
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="govscan")
@click.option("-v", "--verbose", count=True, help="Log each AWS call (-v) and debug detail (-vv) to stderr.")
def main(verbose: int) -> None:
    """govscan: read-only evidence scanner for the AWS SMB Competency checklist.

    It assumes a read-only role in a customer account, runs checks mapped to the checklist's
    controls, and writes a scan document (JSON) with every finding, its evidence and the API
    calls behind it. It never changes the account: every call goes through a gateway that
    refuses anything that is not a read.

    \b
    Start here:
      govscan demo --out demo              # offline: four sample accounts, reports, history
      govscan checks                       # what is checked, with the IAM actions needed
      govscan controls                     # the checklist controls and their criteria
      govscan scan --regions us-east-1,eu-west-1 --json scan.json
      govscan scan --role-arn arn:aws:iam::111122223333:role/GovscanReadOnly \\
                   --external-id EXAMPLE --label acme --json acme.json
    """
    _configure_logging(verbose)


# botocore's and urllib3's DEBUG output holds request signatures, session tokens, the
# AssumeRole response's secret key and the ExternalId: it never reaches govscan's log.
_THIRD_PARTY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def _configure_logging(verbose: int, *, quiet: bool = False) -> None:
    """WARNING by default, ERROR with --quiet; -v logs every AWS call, -vv govscan's debug detail."""
    level = logging.ERROR if quiet and not verbose else logging.WARNING
    if verbose:
        level = logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)
    for name in _THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    if verbose:
        logging.getLogger("scanner.gateway").setLevel(logging.DEBUG)


def _load_registry() -> dict[str, Any]:
    try:
        return dict(load_checks())
    except RegistryError as exc:  # a broken check module is a defect, not a user error
        raise click.ClickException(f"check registry is broken: {exc}") from exc


@main.command("scan", epilog=EXIT_CODES_HELP)
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
@_evidence_options
@click.option(
    "--fail-on",
    default="fail,error",
    show_default=True,
    metavar="LIST",
    help="What makes the exit code 1: fail, error (findings), regression (a PASS/N/A finding now FAIL, or a "
    "control MET -> NOT_MET, since the account's previous stored run), new-fail (anything newly FAIL), or none.",
)
@click.option(
    "--set",
    "set_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A check setting, e.g. root_unused_days=30 or admin_ports=22,3389 (lists are comma separated); "
    "`govscan checks` lists each check's settings.",
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
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr (errors still are).")
@click.option(
    "-v", "--verbose", count=True, help="Log each AWS call (-v) and govscan's debug detail (-vv); never credentials."
)
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
    verbose: int,
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
    if quiet or verbose:  # `govscan -v scan` and `govscan scan -v` both work
        _configure_logging(verbose or click.get_current_context().find_root().params.get("verbose", 0), quiet=quiet)
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
    if regions is not None and not region_list:
        raise click.UsageError("--regions is empty: list regions (e.g. us-east-1,eu-west-1) or use --all-regions")
    if problems := unknown_region_problems(region_list):
        raise click.UsageError(f"--regions: {'; '.join(problems)} ({UPGRADE_HINT})")
    home = region_list[0] if region_list else _default_region(profile)
    # SIGTERM (a CI timeout, `kill`) stops the scan like Ctrl-C: the document is still written,
    # marked incomplete, and never counts as a complete run.
    signal.signal(signal.SIGTERM, _interrupt)
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
        who = label or (role_arn.split(":")[4] if role_arn and role_arn.count(":") >= 5 else None)
        if who and not no_store:  # a gap in the account's history then has its reason
            from scanner.history import HistoryError, Store

            try:
                Store(store_path).record_unreachable(who, str(exc))
            except HistoryError as store_error:
                click.echo(f"govscan: the attempt was not noted in the history: {store_error}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    except KeyboardInterrupt:
        click.echo("govscan: interrupted while connecting, before any check ran; nothing was written.", err=True)
        sys.exit(EXIT_FINDINGS)
    show = not quiet and sys.stderr.isatty()
    if not quiet:
        click.echo(
            f"Scanning account {connection.account_id} as {connection.principal_arn} ({len(checks)} checks)...",
            err=True,
        )
    try:
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
    except NoRegionToScan as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
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
    # The evidence is safe (document written, run stored) before any report is attempted.
    recorded = _record(store_path, no_store, doc, quiet)
    if formats:
        _publish([doc], out_dir, formats, notes_dir, bundle_path, quiet=quiet)
    if not quiet:
        _print_summary(run, json_path)
    code = _exit_code(run, fail_kinds)
    if _regressed(recorded, fail_kinds, run.target.label):
        code = EXIT_FINDINGS
    sys.exit(code)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _default_region(profile: str | None) -> str:
    import boto3  # only to read the configured default region; creates no client
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=profile).region_name or "us-east-1"
    except botocore.exceptions.ProfileNotFound:
        return "us-east-1"  # connect() reports the missing profile, with what to do


def _exit_code(run: ScanRun, fail_kinds: set[str]) -> int:
    if not run.complete or _regions_undiscovered(run.skipped_regions):
        return EXIT_FINDINGS
    statuses = {f.status for f in run.findings}
    if "fail" in fail_kinds and Status.FAIL in statuses:
        return EXIT_FINDINGS
    if "error" in fail_kinds and Status.ERROR in statuses:
        return EXIT_FINDINGS
    return EXIT_OK


def _regions_undiscovered(skipped: Iterable[Any]) -> bool:
    """--all-regions could not list the account's regions: only the home region was scanned."""
    return any(skip.region == "*" for skip in skipped)


def _print_summary(run: ScanRun, json_path: str | None) -> None:
    counts = Counter(f.status.value for f in run.findings)
    parts = ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in Status)
    click.echo(
        f"Account {run.target.account_id}: {len(run.findings)} findings ({parts}); {len(run.calls)} API calls.",
        err=True,
    )
    for skip in run.skipped_regions:
        click.echo(f"  skipped region {skip.region}: {skip.reason}", err=True)
    from scanner.rollup import vacuous_controls

    empty = vacuous_controls(run)  # MET only because nothing was there to judge
    for control in run.controls:
        if control.status.value != "MANUAL":
            note = " (nothing in scope: every finding NOT_APPLICABLE)" if control.id in empty else ""
            click.echo(f"  {control.id:<11} {control.status.value}{note}", err=True)
    if json_path and json_path != "-":
        click.echo(f"Scan document: {json_path}", err=True)
    if not run.complete:
        click.echo("The scan was interrupted: the document is marked incomplete.", err=True)


@main.command("checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def checks_command(fmt: str) -> None:
    """List every check: id, severity, scope, criteria, IAM permissions, settings and title."""
    from scanner.settings import for_checks

    registry = _load_registry()
    if fmt == "json":
        import json

        rows = [
            {
                "id": s.id,
                "title": s.title,
                "severity": s.severity.value,
                "scope": s.scope.value,
                "criteria": list(s.criteria),
                "permissions": list(s.permissions),
                "settings": [setting.name for setting in for_checks([s.id])],
                "rationale": s.rationale,
            }
            for s in registry.values()
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(s.id) for s in registry.values()), default=10)
    click.echo(f"{'ID':<{width}}  {'SEVERITY':<8}  {'SCOPE':<8}  {'CRITERIA':<22}  TITLE / PERMISSIONS")
    for spec in registry.values():
        click.echo(
            f"{spec.id:<{width}}  {spec.severity.value:<8}  {spec.scope.value:<8}  "
            f"{', '.join(spec.criteria):<22}  {spec.title}"
        )
        click.echo(f"{'':<{width}}  {'':<8}  {'':<8}  {'':<22}    {', '.join(spec.permissions)}")
        if used := for_checks([spec.id]):
            names = ", ".join(f"{s.name} ({s.expected()}, default {s.default})" for s in used)
            click.echo(f"{'':<{width}}  {'':<8}  {'':<8}  {'':<22}    settings: {names}")
    click.echo(f"\n{len(registry)} checks. Settings are changed with `govscan scan --set name=value`.")


@main.command("controls")
@click.option("--all", "show_all", is_flag=True, help="Also list the practice-level (organisational) controls.")
def controls_command(show_all: bool) -> None:
    """List the checklist's controls and criteria, and the checks that evidence each criterion."""
    catalog = load_catalog()
    registry = _load_registry()
    by_criterion: dict[str, list[str]] = {}
    for spec in registry.values():
        for criterion in spec.criteria:
            by_criterion.setdefault(criterion, []).append(spec.id)
    click.echo(f"{catalog.title} ({catalog.version})\n")
    for control in catalog.controls:
        if control.scope == "practice" and not show_all:
            continue
        click.echo(f"{control.id}  {control.title}")
        for criterion in control.criteria:
            checks = ", ".join(by_criterion.get(criterion.id, [])) or (
                "manual" if not criterion.automatable else "NO CHECK YET"
            )
            text = criterion.text if len(criterion.text) <= 70 else criterion.text[:69].rstrip() + "…"
            click.echo(f"  {criterion.id:<13} {text:<70}  [{checks}]")
    if not show_all:
        click.echo("\nPractice-level controls are manual; --all lists them too.")


@main.command("role-template")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cloudformation", "iam-json"]),
    default="cloudformation",
    show_default=True,
    help="A CloudFormation template, or only the IAM permissions policy.",
)
@click.option("--checks", "check_ids", multiple=True, metavar="ids", help="Only the permissions of these checks.")
@click.option("--controls", "control_ids", multiple=True, metavar="ids", help="Only checks evidencing these controls.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here instead of stdout.")
def role_template_command(
    fmt: str, check_ids: tuple[str, ...], control_ids: tuple[str, ...], output: str | None
) -> None:
    """Print the read-only scan role to deploy in a customer account.

    The role trusts only the partner principal you name, only with the agreed external id,
    and may call exactly the IAM actions the selected checks declare (no wildcard actions).

    \b
    Deploy it in the customer account:
      govscan role-template -o govscan-role.json
      aws cloudformation deploy --template-file govscan-role.json --stack-name govscan-scan-role \\
          --capabilities CAPABILITY_NAMED_IAM --parameter-overrides \\
          TrustedPrincipalArn=arn:aws:iam::999988887777:role/PartnerScanner ExternalId=<16+ chars>
    """
    from scanner import role_template

    registry = _load_registry()
    try:
        checks = select_checks(registry, load_catalog(), check_ids=_split(check_ids), control_ids=_split(control_ids))
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from exc
    document = (
        role_template.iam_policy(checks)
        if fmt == "iam-json"
        else role_template.cloudformation(checks, check_ids=checks)
    )
    text = role_template.dumps(document)
    if output:
        write_atomic(Path(output), text)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.command("gen-docs", hidden=True)
@click.option("--root", type=click.Path(file_okay=False), default=".", show_default=True)
def gen_docs_command(root: str) -> None:
    """Regenerate docs/checks.md and docs/controls.md from the registry and the catalog."""
    from scanner.docgen import generate

    for path, text in generate(Path(root)).items():
        write_atomic(path, text)
        click.echo(f"wrote {path}")


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
        if bundle_path is not None:
            if bundle_path.is_dir():
                raise ReportError(f"--bundle {bundle_path} is a directory: give a file name such as evidence.zip")
            check_output_dir(bundle_path.parent)
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


@main.command("report")
@click.argument("scan_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Write the reports here.")
@click.option(
    "--format",
    "report_formats",
    default="html,md",
    show_default=True,
    metavar="LIST",
    help="html, md, csv, xlsx (comma list) or all.",
)
@_evidence_options
@click.option("-q", "--quiet", is_flag=True, help="Do not list the files written.")
def report_command(
    scan_files: tuple[Path, ...],
    out_dir: Path | None,
    report_formats: str,
    notes_dir: Path | None,
    bundle_path: Path | None,
    quiet: bool,
) -> None:
    """Render evidence reports from saved scan documents (no AWS access, no clock).

    One document gives its account's evidence appendix; several also give the cross-account
    matrix. csv is every finding in one file; xlsx a self-assessment workbook. The same
    documents always render to the same bytes.

    \b
    Examples:
      govscan report acme.json --out evidence
      govscan report scans/*.json --out evidence --format all --notes notes --bundle evidence.zip
      govscan verify evidence.zip

    \b
    Exit codes:
      0  reports written
      2  unreadable or invalid scan document, bad option, or the output cannot be written
         (nothing is half-written: every file is rendered first and replaced atomically)
    """
    from scanner.document import DocumentError, load
    from scanner.report import ReportError, parse_formats

    if out_dir is None and bundle_path is None:
        raise click.UsageError("give --out DIR, --bundle PATH, or both")
    try:
        formats = parse_formats(report_formats)
    except ReportError as exc:
        raise click.UsageError(str(exc)) from exc
    docs = []
    for path in scan_files:
        try:
            docs.append(load(path))
        except DocumentError as exc:
            click.echo(f"govscan: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    _publish(docs, out_dir, formats, notes_dir, bundle_path, quiet=quiet)


@main.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
def verify_command(bundle: Path) -> None:
    """Check an evidence bundle written by --bundle: every file against the manifest, each scan
    document's own digest, and the seal over the archive's bytes.

    \b
    Exit codes:
      0  intact: prints the seal to compare with the one the partner sent
      1  changed: names each file (or the zip structure) that differs
      2  not readable as a bundle (missing file, not a zip, or a zip govscan never wrote)
    """
    from scanner.bundle import BundleUnreadable, verify_bundle

    try:
        result = verify_bundle(bundle)
    except BundleUnreadable as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if result.ok:
        click.echo(f"OK {bundle}: {result.files} files match the manifest; seal {result.seal}")
        return
    click.echo(f"FAILED {bundle}: the bundle was changed after govscan wrote it", err=True)
    for problem in result.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(EXIT_FINDINGS)


# --- Portfolio, history, diff, status (scanner.config / history / diff / portfolio) ------------

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
    from scanner.portfolio import AccountResult, PortfolioInterrupted, PortfolioOptions, scan_portfolio

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

    signal.signal(signal.SIGTERM, _interrupt)
    try:
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
    except PortfolioInterrupted as stopped:
        progress.clear()
        written = [r.account.label for r in stopped.results if r.document is not None]
        click.echo(
            "govscan: interrupted. "
            + (
                f"Written to {out_dir}: {', '.join(written)} (a scan stopped part-way is marked incomplete). "
                if written
                else ""
            )
            + (f"Not started: {', '.join(stopped.not_started)}. " if stopped.not_started else "")
            + "No matrix or reports were written; rerun the scan for a complete evidence pack.",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)
    docs = [r.document for r in results if r.document is not None]
    if docs and formats:
        _publish(docs, out_dir, formats, notes_dir or config.notes_dir, bundle_path, quiet=quiet)
    unreachable = [r.account.label for r in results if r.unreachable]
    failed = [r.account.label for r in results if r.failure]
    _warn_stale_outputs(out_dir, [*unreachable, *failed], matrix_written=len(docs) > 1 and bool(formats))
    tripped = False
    for result in results:
        if result.document is None:
            continue
        statuses = {f["status"] for f in result.document["findings"]}
        if ("fail" in fail_kinds and "FAIL" in statuses) or ("error" in fail_kinds and "ERROR" in statuses):
            tripped = True
        if not result.document.get("complete", True) or _regions_undiscovered(
            RegionSkip(**skip) for skip in result.document.get("skipped_regions", [])
        ):
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


def _warn_stale_outputs(out_dir: Path, not_scanned: Sequence[str], *, matrix_written: bool) -> None:
    """Files in --out that this run did not write but a reader would take for its results."""
    stale = [
        path.name
        for label in not_scanned
        for path in sorted(out_dir.glob(f"{label}.json")) + sorted(out_dir.glob(f"appendix-{label}.*"))
    ]
    if not matrix_written:
        stale += [path.name for path in sorted(out_dir.glob("matrix.*"))]
    if stale:
        click.echo(
            f"govscan: warning: {out_dir} still holds files from an earlier run that this run did not "
            f"write: {', '.join(stale)}. Move them away before reading or sending the evidence.",
            err=True,
        )


@main.command("history")
@click.option("--account", "label", metavar="LABEL", help="Only this account (label or account id).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_store_option
def history_command(label: str | None, fmt: str, store_path: Path | None) -> None:
    """List the stored runs, oldest first, with their finding counts by status.

    Every `govscan scan` is stored (unless --no-store). An interrupted run is listed but never
    used as an account's latest run by `diff` and `status`. Attempts that could not reach an
    account (role not assumable, credentials rejected, no region) are listed as UNREACHABLE
    with the reason. JSON: one object per run ("kind": "run") or attempt ("kind": "unreachable").
    """
    import json

    from scanner.history import HistoryError, Store
    from scanner.history_format import format_runs

    try:
        store = Store(store_path, create=False)  # reading never creates a database
        if label:
            store.require([label])
        runs = store.runs(label)
        attempts = store.unreachable(label)
    except HistoryError as exc:
        click.echo(f"govscan: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "kind": "run",
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
                ]
                + [{"kind": "unreachable", "label": u.label, "at": u.at, "reason": u.reason} for u in attempts],
                indent=2,
            )
        )
        return
    for line in format_runs(runs, attempts):
        click.echo(line)


@main.command("diff")
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
    (FAIL -> PASS/N/A, or gone with its resource), newly ERROR, not evaluated (FAIL before, no
    verdict now: the check erred or did not run, so it is not counted as resolved); and
    control status changes.

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
    store = Store(store_path, create=False)
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


@main.command("status")
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

    from scanner.history import HistoryError, Store
    from scanner.status import control_states, format_portfolio, format_status, window

    store = Store(store_path, create=False)
    try:
        chosen = list(labels) or store.labels()
        store.require(chosen)
        if not chosen:
            click.echo(f"No runs stored in {store.path}.")
            return
        today = (as_of or datetime.now(UTC)).date()
        span = window(window_start.date(), today) if window_start else None
        current = {}
        for lbl in chosen:
            latest = store.latest(lbl)
            attempts = store.unreachable(lbl)
            if attempts and (latest is None or attempts[-1].at > latest.started_at):
                click.echo(f"{lbl}: last attempt {attempts[-1].at} UNREACHABLE: {attempts[-1].reason}")
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


@main.command("demo")
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
    external id. It scans twice (an earlier scan standing in for last month's, then today's),
    with a regression and a fix in between, so
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


if __name__ == "__main__":  # `python -m scanner.cli`
    main()
