"""Evidence reports from scan documents: the entry point (``write_reports``) and the renderers.

Formats are plug-ins over one model (STYLE.md): the scan document is the model, the view model
(``scanner.report_view``) turns it into what a reader sees, and jinja2 templates in
``report_templates/`` only loop and print. Every renderer is a pure function of the documents,
the catalog release they name, the check registry's titles and the partner's notes (gathered by
``scanner.report_inputs``): no AWS, no clock, so the same document renders byte-identically
every time.

Files ``write_reports`` writes into ``out_dir`` (``<name>`` is the account's label, or its id,
reduced to ``[A-Za-z0-9._-]`` and made unique):

=========  ==========================================================================
html       ``appendix-<name>.html`` per account; ``matrix.html`` for several accounts
md         ``appendix-<name>.md`` per account; ``matrix.md`` for several accounts
csv        ``findings.csv``: every finding of every account, one row each
xlsx       ``evidence.xlsx``: self-assessment summary, scans, one findings sheet per account
=========  ==========================================================================

One scan per account: given several documents of one account (last month's beside today's, or
the same file twice), the reports use the latest complete one (``started_at``; an interrupted
one only when the account has no other) and set the others aside: they are neither rendered,
counted in the matrix, the CSV or the workbook, nor bundled. ``render_all`` and ``publish``
return them (``SetAside``, with the reason) and each is logged as a warning.

Statuses: a document's roll-up is shown as written, except that a criterion the document calls
MET although one of its checks produced no finding is shown INCOMPLETE, and the appendix says so
(``scanner.rollup.reconcile``; documents written before that rule). A MET criterion whose findings
are all NOT_APPLICABLE, and a MET control resting only on such criteria, stay MET but are marked
"MET — nothing in scope" in the appendix, "MET°" in the matrix and "MET (nothing in scope)" in the
workbook (``scanner.rollup.vacuous_criteria``): an empty account is no customer example. The CSV
has one row per finding and no control column, so it needs no marker. Check titles and
rationales are not in the document: they come from the installed govscan's registry
(:func:`scanner.report_inputs.installed_titles`). The appendix says which govscan that is when
it differs from the one that wrote the document, names checks it does not know, and says so if
the registry could not be loaded (also logged) rather than silently leaving titles out.

Large accounts: ``scanner.report_view`` has the limits that keep an appendix bounded by the
number of checks, not of resources (past 220 findings per check the rest are counted and left to
findings.csv). 10,000 findings over all 61 shipped checks give a 4.6 MB HTML appendix in 0.5 s of
CPU and a 0.7 MB XLSX in 2.4 s (openpyxl's pure-Python writer is the slow one); ``write_reports``
validates each document once (schema and digest, 1.0 s; ``govscan report``'s loader validates too,
and the second pass is skipped by digest). docs/performance.md ("Reports at scale") has every
format, the machine and the browser's load time; ``python -m tests.scanner.test_report_scale``
re-measures.

Notes (``--notes DIR``): the partner's narrative per control and account, as
``DIR/<account id or label>/<CONTROL-ID>.md`` (for example ``notes/111122223333/ACCT-001.md``).
The appendix quotes it under the control and lists the controls with manual criteria that have
no narrative yet. The HTML appendix renders a small, escaped Markdown subset of it
(``scanner.report_narrative``); the Markdown appendix quotes it with its Markdown, raw HTML as text.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from scanner.catalog import Catalog
from scanner.document import DocumentError, write_atomic
from scanner.report_inputs import CheckTitles, ReportScan, catalog_of, installed_titles, load_notes, loaded
from scanner.report_inputs import ReportError as ReportError
from scanner.report_inputs import check_output_dir as check_output_dir
from scanner.report_inputs import file_stems as file_stems
from scanner.report_markdown import markdown_environment
from scanner.report_matrix import SetAside, build_matrix, latest_per_account, pick
from scanner.report_tabular import render_csv
from scanner.report_view import (
    CheckInfo,
    LoadedScan,
    build_appendix,
)
from scanner.rollup import vacuous_controls, vacuous_criteria

# ReportError, check_output_dir and file_stems stay importable from here (the explicit "as" above
# re-exports them): the CLI and fixtures.sample_docs use them as scanner.report's.

log = logging.getLogger(__name__)

FORMATS = ("html", "md", "csv", "xlsx")
DEFAULT_FORMATS = ("html", "md")


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"html,md"`` (or ``"all"``) to a tuple of known formats, in canonical order."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    wanted = {p.strip().lower() for p in parts if p.strip()}
    if "all" in wanted:
        wanted = (wanted - {"all"}) | set(FORMATS)
    unknown = sorted(wanted - set(FORMATS))
    if unknown or not wanted:
        named = ", ".join(unknown) or "(none)"
        raise ReportError(f"unknown report format(s) {named}; choose from {', '.join(FORMATS)} or all")
    return tuple(f for f in FORMATS if f in wanted)


@cache
def environment(kind: str) -> jinja2.Environment:
    """``html``: autoescape on, explicitly (``select_autoescape`` would not match ``*.html.j2``).
    ``md``: every printed value escaped (:func:`scanner.report_markdown.markdown_environment`).
    Both with ``StrictUndefined``."""
    loader = jinja2.PackageLoader("report_templates", ".")
    common: dict[str, Any] = {
        "loader": loader,
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    if kind == "html":
        env = jinja2.Environment(autoescape=True, **common)
        # The page's Content-Security-Policy allows exactly this inline script and no fetches at all.
        script = env.get_template("report.js").render().encode("utf-8")
        env.globals["script_hash"] = "sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode("ascii")
    else:
        env = markdown_environment(common)
    return env


# --- Renderers (pure) --------------------------------------------------------------------------


def _titles(checks: Mapping[str, CheckInfo] | CheckTitles | None) -> CheckTitles:
    if isinstance(checks, CheckTitles):
        return checks
    return installed_titles() if checks is None else CheckTitles(checks)

def _appendix(
    kind: str,
    scan: LoadedScan,
    catalog: Catalog,
    notes: Mapping[str, str] | None,
    checks: Mapping[str, CheckInfo] | CheckTitles,
) -> str:
    titles = _titles(checks)
    view = build_appendix(scan, catalog, titles.info, notes)
    extra = titles.notes(scan.run)
    rederived = scan.rederived if isinstance(scan, ReportScan) else ()
    if rederived:
        extra.append(
            f"Criteria {', '.join(rederived)} are shown INCOMPLETE although this document (govscan "
            f"{scan.run.scanner_version}) rolled them up as MET: a check mapped to each produced no finding, "
            "and a criterion is MET only when every one of its checks has findings, all PASS or NOT_APPLICABLE."
        )
    if extra:
        view = replace(view, warnings=(*view.warnings, *extra))
    # Criteria and controls MET with nothing in scope (every finding NOT_APPLICABLE) keep their
    # status but are marked, so a reader does not take an empty account for evidence.
    empty = vacuous_criteria(scan.run) | vacuous_controls(scan.run)
    return environment(kind).get_template(f"appendix.{kind}.j2").render(view=view, nothing_in_scope=empty)


def _matrix(
    kind: str, scans: Sequence[LoadedScan], catalog: Catalog, hrefs: Sequence[str], set_aside: Sequence[SetAside] = ()
) -> str:
    view = build_matrix(scans, catalog, hrefs, set_aside)
    return environment(kind).get_template(f"matrix.{kind}.j2").render(view=view)


def render_html(
    doc: Mapping[str, Any],
    catalog: Catalog,
    notes: Mapping[str, str] | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> str:
    """The per-account evidence appendix as one self-contained HTML page."""
    return _appendix("html", loaded(doc), catalog, notes, _titles(checks))


def render_markdown(
    doc: Mapping[str, Any],
    catalog: Catalog,
    notes: Mapping[str, str] | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> str:
    """The per-account evidence appendix as GitHub-flavoured Markdown."""
    return _appendix("md", loaded(doc), catalog, notes, _titles(checks))


def render_matrix_html(docs: Sequence[Mapping[str, Any]], catalog: Catalog, hrefs: Sequence[str] = ()) -> str:
    """Controls by accounts (the latest complete scan of each), and whether at least one meets each control."""
    return _matrix("html", [loaded(d) for d in docs], catalog, hrefs)


def render_matrix_markdown(docs: Sequence[Mapping[str, Any]], catalog: Catalog, hrefs: Sequence[str] = ()) -> str:
    return _matrix("md", [loaded(d) for d in docs], catalog, hrefs)


def render_findings_csv(docs: Sequence[Mapping[str, Any]]) -> str:
    scans = [loaded(d) for d in docs]
    return render_csv(pick(scans, latest_per_account(scans)[0]))


def render_workbook(docs: Sequence[Mapping[str, Any]], catalog: Catalog, hrefs: Sequence[str] = ()) -> bytes:
    from scanner.report_xlsx import render_xlsx

    return render_xlsx([loaded(d) for d in docs], catalog, hrefs)


# --- Files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """Every report file's name and content, the documents they were rendered from (one per
    account) and the documents set aside (another scan of the same account is used)."""

    files: dict[str, str | bytes]
    docs: tuple[Mapping[str, Any], ...]
    set_aside: tuple[SetAside, ...]


def render_all(
    docs: Sequence[Mapping[str, Any]],
    formats: Iterable[str],
    *,
    notes_dir: Path | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> Rendered:
    """Render every report in memory, from the latest complete scan of each account
    (``scanner.report_matrix.latest_per_account``); each document set aside is logged."""
    if not docs:
        raise ReportError("no scan documents to report on")
    chosen = parse_formats(list(formats))
    try:
        given = [loaded(d) for d in docs]
    except DocumentError as exc:
        raise ReportError(str(exc)) from exc
    kept, set_aside = latest_per_account(given)
    for entry in set_aside:
        log.warning("%s", entry.describe())
    scans, docs = pick(given, kept), pick(docs, kept)
    catalogs = [catalog_of(s) for s in scans]
    if len({(c.id, c.version) for c in catalogs}) > 1:
        raise ReportError("the scan documents use different catalog releases; report on each release separately")
    catalog = catalogs[0]
    titles = _titles(checks)
    stems = file_stems(docs)
    files: dict[str, str | bytes] = {}
    for kind in ("html", "md"):
        if kind not in chosen:
            continue
        for scan, stem in zip(scans, stems, strict=True):
            notes = load_notes(notes_dir, scan) if notes_dir is not None else None
            files[f"appendix-{stem}.{kind}"] = _appendix(kind, scan, catalog, notes, titles)
        if len(scans) > 1:
            hrefs = [f"appendix-{s}.{kind}" for s in stems]
            files[f"matrix.{kind}"] = _matrix(kind, scans, catalog, hrefs, set_aside)
    if "csv" in chosen:
        files["findings.csv"] = render_csv(scans)
    if "xlsx" in chosen:
        from scanner.report_xlsx import render_xlsx

        link_kind = "html" if "html" in chosen else "md" if "md" in chosen else ""
        files["evidence.xlsx"] = render_xlsx(
            scans, catalog, [f"appendix-{s}.{link_kind}" for s in stems] if link_kind else [], set_aside
        )
    return Rendered(files, tuple(docs), tuple(set_aside))


def render_reports(
    docs: Sequence[Mapping[str, Any]],
    formats: Iterable[str],
    *,
    notes_dir: Path | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> dict[str, str | bytes]:
    """Every report file's name and content, in memory: nothing is written if anything fails."""
    return render_all(docs, formats, notes_dir=notes_dir, checks=checks).files


def _write(rendered: Rendered, out_dir: Path) -> list[Path]:
    check_output_dir(out_dir)
    written = []
    for name, content in rendered.files.items():
        path = out_dir / name
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise ReportError(f"cannot write {path}: {exc}") from exc
        written.append(path)
    return written


def write_reports(
    docs: Sequence[Mapping[str, Any]],
    out_dir: Path,
    formats: Iterable[str],
    *,
    notes_dir: Path | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> list[Path]:
    """Render every report first, then write each file atomically into ``out_dir``.

    Raises :class:`ReportError` for invalid documents, an unknown format or catalog, unreadable
    notes or an unwritable ``out_dir``; a failure before writing leaves nothing behind.
    """
    if notes_dir is not None and not notes_dir.is_dir():
        raise ReportError(f"notes directory {notes_dir} does not exist")
    return _write(render_all(docs, formats, notes_dir=notes_dir, checks=checks), out_dir)


@dataclass(frozen=True)
class Published:
    reports: tuple[Path, ...]
    bundle: Path | None
    seal: str
    set_aside: tuple[SetAside, ...] = ()  # documents not reported on: another scan of the account is used


def publish(
    docs: Sequence[Mapping[str, Any]],
    *,
    out_dir: Path | None,
    formats: Iterable[str],
    notes_dir: Path | None = None,
    bundle: Path | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> Published:
    """What ``govscan report`` and ``govscan scan --out/--bundle`` do: the reports into ``out_dir``
    and, with ``bundle``, the sealed evidence bundle of the documents and those reports (rendered
    in a temporary directory when there is no ``out_dir``). A document set aside (another scan
    of the same account is used: :func:`scanner.report_matrix.latest_per_account`) is neither
    reported on nor bundled, and is listed in ``Published.set_aside``."""
    from scanner.bundle import write_bundle

    if out_dir is None and bundle is None:
        raise ReportError("nowhere to write: give an output directory, a bundle path, or both")
    if notes_dir is not None and not notes_dir.is_dir():
        raise ReportError(f"notes directory {notes_dir} does not exist")
    rendered = render_all(docs, formats, notes_dir=notes_dir, checks=checks)
    with tempfile.TemporaryDirectory(prefix="govscan-report-") as scratch:
        written = _write(rendered, out_dir or Path(scratch))
        if bundle is None:
            return Published(tuple(written), None, "", rendered.set_aside)
        kept = list(rendered.docs)
        try:
            seal = write_bundle(bundle, kept, file_stems(kept), written)
        except OSError as exc:
            raise ReportError(f"cannot write the bundle {bundle}: {exc}") from exc
    return Published(tuple(written) if out_dir else (), bundle, seal, rendered.set_aside)
