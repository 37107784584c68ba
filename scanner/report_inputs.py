"""What the reports are made from, gathered before anything is rendered: the documents (validated,
their roll-up reconciled: :class:`ReportScan`), the catalog release they name, the installed
govscan's check titles (:class:`CheckTitles`), the partner's notes, the file name of each
account's reports and a writable output directory. Every failure here is a :class:`ReportError`.

The renderers and the files they write are in ``scanner.report``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scanner.catalog import Catalog, load_catalog
from scanner.document import from_document
from scanner.models import ScanRun
from scanner.report_view import CheckInfo, LoadedScan
from scanner.rollup import reconcile

# Not __name__: the CLI prints the logger's name ("WARNING scanner.report: reports show no check
# titles..."), and these warnings are the reports' like every other in scanner.report.
log = logging.getLogger("scanner.report")


class ReportError(Exception):
    """Reports cannot be written (bad format list, unknown catalog, unreadable notes, unwritable output)."""


@dataclass(frozen=True)
class ReportScan(LoadedScan):
    """A scan as the reports show it. ``rederived``: criteria the document rolled up as MET
    although a check mapped to them produced no finding; the reports show them INCOMPLETE
    (:func:`scanner.rollup.reconcile`) and say so."""

    rederived: tuple[str, ...] = ()


def loaded(doc: Mapping[str, Any]) -> ReportScan:
    """A document validated (schema and digest) and turned into the model, its roll-up reconciled."""
    run = from_document(doc)
    controls, rederived = reconcile(run.controls, run.findings)
    if rederived:
        run = replace(run, controls=controls)
    return ReportScan(run=run, digest=str(doc["digest"]), rederived=rederived)


def catalog_of(scan: LoadedScan) -> Catalog:
    name = f"{scan.run.catalog_id}-{scan.run.catalog_version}"
    try:
        return load_catalog(name)
    except FileNotFoundError as exc:
        raise ReportError(f"scan {scan.run.scan_id} names catalog {name}, which this govscan does not ship") from exc


@dataclass(frozen=True)
class CheckTitles:
    """Check titles and rationales for the appendix, and where they come from.

    The scan document holds check ids, not titles: the titles are the installed govscan's.
    ``version`` is that govscan's version ("" when the caller supplied the titles), ``error``
    why its registry could not be loaded (the report then renders without titles and says so).
    """

    info: Mapping[str, CheckInfo]
    version: str = ""
    error: str = ""

    def notes(self, run: ScanRun) -> list[str]:
        """What the appendix says about the titles it shows for ``run``."""
        if self.error:
            return [f"Check titles and rationales are missing: the installed govscan {self.version} could not "
                    f"load its check registry ({self.error})."]
        if not self.version:
            return []
        notes = []
        if self.version != run.scanner_version:
            notes.append(f"Check titles and rationales come from the installed govscan {self.version}; this "
                         f"document was written by govscan {run.scanner_version}, whose wording may differ.")
        unknown = sorted({f.check_id for f in run.findings} - set(self.info))
        if unknown:
            notes.append(f"Checks unknown to the installed govscan {self.version}, shown without title: "
                         f"{', '.join(unknown)}.")
        return notes


def installed_titles() -> CheckTitles:
    """The installed checks' titles and rationales; a registry that fails to load is logged and
    reported in the appendix, and the report still renders (without titles)."""
    from scanner import __version__
    from scanner.registry import RegistryError, load_checks

    try:
        specs = load_checks()
    except (RegistryError, ImportError) as exc:
        log.warning("reports show no check titles: the installed check registry could not be loaded (%s)", exc)
        return CheckTitles({}, __version__, f"{type(exc).__name__}: {exc}")
    return CheckTitles({cid: CheckInfo(spec.title, spec.rationale) for cid, spec in specs.items()}, __version__)


def registry_checks() -> dict[str, CheckInfo]:
    """Titles and rationales of the installed checks (empty, with a logged warning, if the registry fails)."""
    return dict(installed_titles().info)



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
