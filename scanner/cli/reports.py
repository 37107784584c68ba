"""`govscan report` and `govscan verify`: evidence from saved scan documents."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli._common import EXIT_FINDINGS, EXIT_USAGE, _publish


@click.command("report")
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
    help="Also write a sealed evidence bundle (zip): the documents, the reports and a SHA-256 manifest.",
)
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


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
def verify_command(bundle: Path) -> None:
    """Check an evidence bundle written by --bundle: every file against the manifest, each scan
    document's own digest, and the seal over the archive's bytes.

    \b
    Exit codes:
      0  intact: prints the seal to compare with the one the partner sent
      1  changed: names each file (or the zip structure) that differs
      2  not readable as a bundle (missing file, not a zip archive)
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
