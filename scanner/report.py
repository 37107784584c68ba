"""Evidence reports from scan documents: the entry point (``write_reports``) and the renderers.

Formats are plug-ins over one model (STYLE.md): the scan document is the model, the view model
(``scanner.report_view``) turns it into what a reader sees, and jinja2 templates in
``report_templates/`` only loop and print. Every renderer is a pure function of the documents,
the catalog release they name, the check registry's titles and the partner's notes: no AWS, no
clock, so the same document renders byte-identically every time.

Files ``write_reports`` writes into ``out_dir`` (``<name>`` is the account's label, or its id,
reduced to ``[A-Za-z0-9._-]`` and made unique):

=========  ==========================================================================
html       ``appendix-<name>.html`` per account; ``matrix.html`` for several accounts
md         ``appendix-<name>.md`` per account; ``matrix.md`` for several accounts
csv        ``findings.csv``: every finding of every account, one row each
xlsx       ``evidence.xlsx``: self-assessment summary, scans, one findings sheet per account
=========  ==========================================================================

Large accounts (measured on a 2-vCPU container, ``tests/scanner/test_report_scale.py`` builds the
same input): one account with 10,000 findings over 20 checks gives a 1.6 MB HTML appendix
rendered in 0.6 s (21 check groups: 20 findings with evidence and 200 compact rows each, the
rest counted), a 1.0 MB Markdown appendix in 0.4 s, a 4.6 MB CSV in 0.3 s and a 0.7 MB XLSX in
5.6 s (openpyxl's pure-Python XML writer). Validating the document against its JSON Schema
costs another 2.3 s per document (``write_reports`` validates once; ``govscan report``'s loader
validates too, to name a bad file). Headless Chromium loads the HTML in about 1.2 s beyond
its own start-up, with no console message. ``scanner.report_view`` has the limits that keep an
appendix bounded by the number of checks, not of resources.

Notes (``--notes DIR``): the partner's narrative per control and account, as
``DIR/<account id or label>/<CONTROL-ID>.md`` (for example ``notes/111122223333/ACCT-001.md``).
The appendix quotes it under the control and lists the controls with manual criteria that have
no narrative yet. The HTML appendix renders a small, escaped Markdown subset of it
(``scanner.report_narrative``); the Markdown appendix quotes it with its Markdown, raw HTML as text.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from scanner.catalog import Catalog, load_catalog
from scanner.document import DocumentError, from_document, write_atomic
from scanner.report_matrix import build_matrix
from scanner.report_tabular import render_csv
from scanner.report_view import (
    CheckInfo,
    LoadedScan,
    build_appendix,
)

FORMATS = ("html", "md", "csv", "xlsx")
DEFAULT_FORMATS = ("html", "md")


class ReportError(Exception):
    """Reports cannot be written (bad format list, unknown catalog, unreadable notes, unwritable output)."""


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


# --- Markdown escaping -------------------------------------------------------------------------


class MarkdownSafe(str):
    """Text already fit for Markdown: the Markdown environment prints it unchanged."""


_MD_BACKSLASHED = str.maketrans({c: "\\" + c for c in "\\`*_[]|~$"})
_CODE_SAFE = re.compile(r"^[A-Za-z0-9_.:/-]+$")


def md_escape(value: Any) -> MarkdownSafe:
    """Inline text for Markdown: one line; ``< > &`` as entities (raw HTML never reaches the page);
    the characters that start emphasis, code, links, tables, strike-through and math backslashed.

    It is the Markdown environment's ``finalize``, so every ``{{ value }}`` passes through it: the
    Markdown analogue of autoescape.
    """
    if isinstance(value, MarkdownSafe):
        return value
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MarkdownSafe(text.translate(_MD_BACKSLASHED))


def md_code(value: Any) -> MarkdownSafe:
    """A code span for identifiers (check ids, API actions); anything else falls back to escaped text."""
    text = str(value)
    return MarkdownSafe(f"`{text}`") if _CODE_SAFE.match(text) else md_escape(text)


def md_fence(value: Any, lang: str = "") -> MarkdownSafe:
    """A fenced block longer than any backtick run inside, so the content cannot close it."""
    text = str(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MarkdownSafe(f"{fence}{lang}\n{text}\n{fence}")


def md_quote(value: Any) -> MarkdownSafe:
    """The partner's narrative as a block quote: Markdown kept, raw HTML shown as text."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MarkdownSafe("\n".join(("> " + line).rstrip() for line in text.strip().splitlines()))


def md_anchor(value: str) -> MarkdownSafe:
    """An HTML anchor for links into the document (``value`` is already an ``anchor()`` id)."""
    return MarkdownSafe(f'<a id="{re.sub(r"[^A-Za-z0-9_.-]", "-", value)}"></a>')


@cache
def environment(kind: str) -> jinja2.Environment:
    """``html``: autoescape on, explicitly (``select_autoescape`` would not match ``*.html.j2``).
    ``md``: every printed value through :func:`md_escape`. Both with ``StrictUndefined``."""
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
        env = jinja2.Environment(autoescape=False, finalize=md_escape, **common)  # noqa: S701 - escaped by finalize
        env.filters.update(md=md_escape, code=md_code, fence=md_fence, quote=md_quote, anchor=md_anchor)
    return env


# --- Inputs ------------------------------------------------------------------------------------


def loaded(doc: Mapping[str, Any]) -> LoadedScan:
    """A document validated (schema and digest) and turned into the model."""
    return LoadedScan(run=from_document(doc), digest=str(doc["digest"]))


def catalog_of(scan: LoadedScan) -> Catalog:
    name = f"{scan.run.catalog_id}-{scan.run.catalog_version}"
    try:
        return load_catalog(name)
    except FileNotFoundError as exc:
        raise ReportError(f"scan {scan.run.scan_id} names catalog {name}, which this govscan does not ship") from exc


def registry_checks() -> dict[str, CheckInfo]:
    """Titles and rationales of the installed checks (a report still renders if the registry fails)."""
    from scanner.registry import RegistryError, load_checks

    try:
        return {cid: CheckInfo(spec.title, spec.rationale) for cid, spec in load_checks().items()}
    except (RegistryError, ImportError):
        return {}


def load_notes(notes_dir: Path, scan: LoadedScan) -> dict[str, str]:
    """``notes_dir/<account id>/*.md``, else ``notes_dir/<label>/*.md``: control id to narrative."""
    target = scan.run.target
    candidates = [notes_dir / target.account_id] + ([notes_dir / target.label] if target.label else [])
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None:
        return {}
    notes = {}
    for path in sorted(folder.glob("*.md")):
        try:
            notes[path.stem.upper()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"cannot read the narrative {path}: {exc}") from exc
    return notes


def file_stems(docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """A safe, unique file name stem per document: its label (or account id), then ``-<account id>``."""
    stems: list[str] = []
    for doc in docs:
        target = doc["target"]
        name = str(target["label"] or target["account_id"])
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:64] or str(target["account_id"])
        stem = base
        for candidate in (base, f"{base}-{target['account_id']}", f"{base}-{doc['scan_id']}"):
            stem = re.sub(r"[^A-Za-z0-9._-]+", "-", candidate)
            if stem not in stems:
                break
        suffix = 2
        while stem in stems:
            stem, suffix = f"{base}-{suffix}", suffix + 1
        stems.append(stem)
    return stems


def check_output_dir(out_dir: Path) -> None:
    """Fail early (before a scan) when ``out_dir`` cannot hold the reports."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out {out_dir} exists and is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create the output directory {out_dir}: {exc}") from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ReportError(f"the output directory {out_dir} is not writable")


# --- Renderers (pure) --------------------------------------------------------------------------


def _appendix(
    kind: str, scan: LoadedScan, catalog: Catalog, notes: Mapping[str, str] | None, checks: Mapping[str, CheckInfo]
) -> str:
    view = build_appendix(scan, catalog, checks, notes)
    return environment(kind).get_template(f"appendix.{kind}.j2").render(view=view)


def _matrix(kind: str, scans: Sequence[LoadedScan], catalog: Catalog, hrefs: Sequence[str]) -> str:
    view = build_matrix(scans, catalog, hrefs)
    return environment(kind).get_template(f"matrix.{kind}.j2").render(view=view)


def render_html(
    doc: Mapping[str, Any],
    catalog: Catalog,
    notes: Mapping[str, str] | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> str:
    """The per-account evidence appendix as one self-contained HTML page."""
    return _appendix("html", loaded(doc), catalog, notes, registry_checks() if checks is None else checks)


def render_markdown(
    doc: Mapping[str, Any],
    catalog: Catalog,
    notes: Mapping[str, str] | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> str:
    """The per-account evidence appendix as GitHub-flavoured Markdown."""
    return _appendix("md", loaded(doc), catalog, notes, registry_checks() if checks is None else checks)


def render_matrix_html(docs: Sequence[Mapping[str, Any]], catalog: Catalog, hrefs: Sequence[str] = ()) -> str:
    """Controls by accounts, and whether at least one account meets each control."""
    return _matrix("html", [loaded(d) for d in docs], catalog, hrefs)


def render_matrix_markdown(docs: Sequence[Mapping[str, Any]], catalog: Catalog, hrefs: Sequence[str] = ()) -> str:
    return _matrix("md", [loaded(d) for d in docs], catalog, hrefs)


def render_findings_csv(docs: Sequence[Mapping[str, Any]]) -> str:
    return render_csv([loaded(d) for d in docs])


def render_workbook(docs: Sequence[Mapping[str, Any]], catalog: Catalog, hrefs: Sequence[str] = ()) -> bytes:
    from scanner.report_xlsx import render_xlsx

    return render_xlsx([loaded(d) for d in docs], catalog, hrefs)


# --- Files -------------------------------------------------------------------------------------


def render_reports(
    docs: Sequence[Mapping[str, Any]],
    formats: Iterable[str],
    *,
    notes_dir: Path | None = None,
    checks: Mapping[str, CheckInfo] | None = None,
) -> dict[str, str | bytes]:
    """Every report file's name and content, in memory: nothing is written if anything fails."""
    if not docs:
        raise ReportError("no scan documents to report on")
    chosen = parse_formats(list(formats))
    try:
        scans = [loaded(d) for d in docs]
    except DocumentError as exc:
        raise ReportError(str(exc)) from exc
    catalogs = [catalog_of(s) for s in scans]
    if len({(c.id, c.version) for c in catalogs}) > 1:
        raise ReportError("the scan documents use different catalog releases; report on each release separately")
    catalog = catalogs[0]
    info = registry_checks() if checks is None else checks
    stems = file_stems(docs)
    files: dict[str, str | bytes] = {}
    for kind in ("html", "md"):
        if kind not in chosen:
            continue
        for scan, stem in zip(scans, stems, strict=True):
            notes = load_notes(notes_dir, scan) if notes_dir is not None else None
            files[f"appendix-{stem}.{kind}"] = _appendix(kind, scan, catalog, notes, info)
        if len(scans) > 1:
            files[f"matrix.{kind}"] = _matrix(kind, scans, catalog, [f"appendix-{s}.{kind}" for s in stems])
    if "csv" in chosen:
        files["findings.csv"] = render_csv(scans)
    if "xlsx" in chosen:
        from scanner.report_xlsx import render_xlsx

        link_kind = "html" if "html" in chosen else "md" if "md" in chosen else ""
        files["evidence.xlsx"] = render_xlsx(
            scans, catalog, [f"appendix-{s}.{link_kind}" for s in stems] if link_kind else []
        )
    return files


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
    files = render_reports(docs, formats, notes_dir=notes_dir, checks=checks)
    check_output_dir(out_dir)
    written = []
    for name, content in files.items():
        path = out_dir / name
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise ReportError(f"cannot write {path}: {exc}") from exc
        written.append(path)
    return written


@dataclass(frozen=True)
class Published:
    reports: tuple[Path, ...]
    bundle: Path | None
    seal: str


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
    in a temporary directory when there is no ``out_dir``)."""
    from scanner.bundle import write_bundle

    if out_dir is None and bundle is None:
        raise ReportError("nowhere to write: give an output directory, a bundle path, or both")
    with tempfile.TemporaryDirectory(prefix="govscan-report-") as scratch:
        written = write_reports(docs, out_dir or Path(scratch), formats, notes_dir=notes_dir, checks=checks)
        if bundle is None:
            return Published(tuple(written), None, "")
        try:
            seal = write_bundle(bundle, docs, file_stems(docs), written)
        except OSError as exc:
            raise ReportError(f"cannot write the bundle {bundle}: {exc}") from exc
    return Published(tuple(written) if out_dir else (), bundle, seal)
