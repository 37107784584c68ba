"""The view model of the evidence reports: frozen dataclasses built from scan documents.

Templates only loop and print; every decision is made here: which controls appear, how
findings are ordered and grouped, what is cut short on large accounts, anchors and labels.
Pure functions: no AWS, no clock, no file system.

Large accounts. Findings are grouped per control, criterion and check, worst first (FAIL,
ERROR, PASS, NOT_APPLICABLE, then severity, region, resource). Per check the first
``DETAIL_LIMIT`` findings are shown with their evidence, the next ``LIST_LIMIT`` as one
compact row each (status, region, resource, message, calls), and the rest are counted and
left to ``findings.csv`` and the scan document, which always hold every finding. Evidence
longer than ``EVIDENCE_CHARS`` is cut (and says so); the call annex lists at most
``CALL_LIMIT`` calls, preferring those cited by shown findings and those that did not
succeed. This keeps an appendix bounded by the number of checks, not of resources.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.catalog import Catalog, Control
from scanner.models import Call, ControlResult, ControlStatus, Finding, ScanRun
from scanner.report_narrative import Block, parse

DETAIL_LIMIT = 20
LIST_LIMIT = 200
EVIDENCE_CHARS = 4000
CALL_LIMIT = 2000

STATUS_ORDER = {"FAIL": 0, "ERROR": 1, "PASS": 2, "NOT_APPLICABLE": 3}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
CUSTOMER_EXAMPLE = "customer-example"


@dataclass(frozen=True)
class CheckInfo:
    """What the report says about a check beyond its id (from the check registry)."""

    title: str
    rationale: str


@dataclass(frozen=True)
class LoadedScan:
    """A validated scan document: the model plus the digest that identifies the document."""

    run: ScanRun
    digest: str


@dataclass(frozen=True)
class Count:
    status: str
    n: int


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class CallRef:
    id: str
    anchor: str


@dataclass(frozen=True)
class FindingView:
    check_id: str
    status: str
    severity: str
    region: str
    resource_id: str
    resource_type: str
    message: str
    remediation: str
    evidence_json: str
    evidence_cut: bool
    calls: tuple[CallRef, ...]


@dataclass(frozen=True)
class CheckGroup:
    check_id: str
    anchor: str
    title: str
    rationale: str
    total: int
    counts: tuple[Count, ...]
    detailed: tuple[FindingView, ...]
    listed: tuple[FindingView, ...]
    omitted: int
    open: bool


@dataclass(frozen=True)
class CriterionView:
    id: str
    anchor: str
    text: str
    status: str
    automated: bool
    manual_evidence: str
    checks: tuple[CheckGroup, ...]


@dataclass(frozen=True)
class ControlView:
    id: str
    anchor: str
    title: str
    status: str
    requirement: str
    evidence_asked: str
    criteria: tuple[CriterionView, ...]
    criteria_summary: str
    counts: tuple[Count, ...]
    needs_narrative: bool
    narrative: str | None
    narrative_blocks: tuple[Block, ...]


@dataclass(frozen=True)
class CallView:
    id: str
    anchor: str
    action: str
    region: str
    at: str
    outcome: str
    error_code: str
    error_message: str
    params_json: str


@dataclass(frozen=True)
class AppendixView:
    title: str
    account_id: str
    label: str
    digest: str
    summary: tuple[Field, ...]
    totals: tuple[Count, ...]
    warnings: tuple[str, ...]
    controls: tuple[ControlView, ...]
    practice_controls: int
    calls: tuple[CallView, ...]
    calls_omitted: int
    notes_given: bool
    missing_narratives: tuple[str, ...]
    ignored_notes: tuple[str, ...]


def anchor(prefix: str, value: str) -> str:
    """An HTML id / URL fragment made of safe characters only."""
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_.-]", "-", value)


def account_name(run: ScanRun) -> str:
    return run.target.label or run.target.account_id


def finding_order(finding: Finding) -> tuple[int, int, str, str, str, str]:
    return (
        STATUS_ORDER.get(finding.status.value, 9),
        SEVERITY_ORDER.get(finding.severity.value, 9),
        finding.region,
        finding.resource_id,
        finding.message,
        finding.check_id,
    )


def counts(statuses: Iterable[str], order: Sequence[str] = tuple(STATUS_ORDER)) -> tuple[Count, ...]:
    tally = Counter(statuses)
    return tuple(Count(s, tally[s]) for s in order if tally[s])


def evidence_text(evidence: Mapping[str, Any]) -> tuple[str, bool]:
    text = json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) <= EVIDENCE_CHARS:
        return text, False
    return text[:EVIDENCE_CHARS] + "\n...", True


def _finding_view(finding: Finding) -> FindingView:
    evidence, cut = evidence_text(finding.evidence)
    return FindingView(
        check_id=finding.check_id,
        status=finding.status.value,
        severity=finding.severity.value,
        region=finding.region,
        resource_id=finding.resource_id,
        resource_type=finding.resource_type,
        message=finding.message,
        remediation=finding.remediation,
        evidence_json=evidence,
        evidence_cut=cut,
        calls=tuple(CallRef(c, anchor("call", c)) for c in finding.calls),
    )


def _check_group(criterion_id: str, check_id: str, findings: Sequence[Finding], info: CheckInfo | None) -> CheckGroup:
    ordered = sorted(findings, key=finding_order)
    shown = ordered[: DETAIL_LIMIT + LIST_LIMIT]
    views = [_finding_view(f) for f in shown]
    found = counts(f.status.value for f in ordered)
    return CheckGroup(
        check_id=check_id,
        anchor=anchor("chk", f"{criterion_id}-{check_id}"),
        title=info.title if info else "",
        rationale=info.rationale if info else "",
        total=len(ordered),
        counts=found,
        detailed=tuple(views[:DETAIL_LIMIT]),
        listed=tuple(views[DETAIL_LIMIT:]),
        omitted=len(ordered) - len(shown),
        open=any(c.status in ("FAIL", "ERROR") for c in found),
    )


def _criteria_summary(result: ControlResult) -> str:
    tally = Counter(k.status.value for k in result.criteria)
    words = {"MET": "met", "NOT_MET": "not met", "INCOMPLETE": "incomplete", "MANUAL": "manual"}
    return ", ".join(f"{tally[s]} {w}" for s, w in words.items() if tally[s])


def _control_view(
    result: ControlResult,
    control: Control | None,
    by_criterion: Mapping[str, Sequence[Finding]],
    checks: Mapping[str, CheckInfo],
    notes: Mapping[str, str] | None,
) -> ControlView:
    texts = {c.id: c for c in control.criteria} if control else {}
    narrative = (notes or {}).get(result.id)
    criteria = []
    control_findings: dict[int, Finding] = {}
    for crit in result.criteria:
        findings = by_criterion.get(crit.id, ())
        for f in findings:
            control_findings[id(f)] = f
        check_ids = list(crit.check_ids) + sorted({f.check_id for f in findings} - set(crit.check_ids))
        catalog_criterion = texts.get(crit.id)
        criteria.append(
            CriterionView(
                id=crit.id,
                anchor=anchor("crit", crit.id),
                text=catalog_criterion.text if catalog_criterion else "",
                status=crit.status.value,
                automated=bool(check_ids),
                manual_evidence=catalog_criterion.manual_evidence if catalog_criterion else "",
                checks=tuple(
                    _check_group(crit.id, cid, [f for f in findings if f.check_id == cid], checks.get(cid))
                    for cid in check_ids
                ),
            )
        )
    return ControlView(
        id=result.id,
        anchor=anchor("ctl", result.id),
        title=control.title if control else "",
        status=result.status.value,
        requirement=control.requirement if control else "",
        evidence_asked=control.evidence if control else "",
        criteria=tuple(criteria),
        criteria_summary=_criteria_summary(result),
        counts=counts(f.status.value for f in control_findings.values()),
        needs_narrative=any(k.status is ControlStatus.MANUAL for k in result.criteria),
        narrative=narrative,
        narrative_blocks=parse(narrative) if narrative is not None else (),
    )


def _call_view(call: Call) -> CallView:
    return CallView(
        id=call.id,
        anchor=anchor("call", call.id),
        action=call.action,
        region=call.region,
        at=call.at,
        outcome=call.outcome.value,
        error_code=call.error_code or "",
        error_message=call.error_message or "",
        params_json=json.dumps(call.params, sort_keys=True, ensure_ascii=False, default=str) if call.params else "",
    )


def _calls_shown(run: ScanRun, controls: Sequence[ControlView]) -> tuple[CallView, ...]:
    if len(run.calls) <= CALL_LIMIT:
        return tuple(_call_view(c) for c in run.calls)
    cited = {
        ref.id
        for control in controls
        for crit in control.criteria
        for group in crit.checks
        for finding in (*group.detailed, *group.listed)
        for ref in finding.calls
    }
    wanted = [c for c in run.calls if c.outcome.value != "ok" or c.id in cited][:CALL_LIMIT]
    return tuple(_call_view(c) for c in wanted)


def build_appendix(
    scan: LoadedScan, catalog: Catalog, checks: Mapping[str, CheckInfo], notes: Mapping[str, str] | None
) -> AppendixView:
    """The per-account evidence appendix. ``notes`` maps control ids to the partner's narrative
    (None: no notes directory was given, so missing narratives are not listed)."""
    run = scan.run
    known = {c.id: c for c in catalog.controls}
    by_criterion: dict[str, list[Finding]] = {}
    for finding in run.findings:
        for criterion in finding.criteria:
            by_criterion.setdefault(criterion, []).append(finding)
    shown = [r for r in run.controls if r.id not in known or known[r.id].scope == CUSTOMER_EXAMPLE]
    controls = tuple(_control_view(r, known.get(r.id), by_criterion, checks, notes) for r in shown)
    t = run.target
    summary = (
        Field("Account", t.account_id),
        Field("Label", t.label or "(none)"),
        Field("Partition", t.partition),
        Field("Scanned as", t.principal_arn),
        Field("Role", t.role_arn or "(the caller's own credentials)"),
        Field("Regions", ", ".join(t.regions) or "(none)"),
        Field("Scan id", run.scan_id),
        Field("Started", run.started_at),
        Field("Finished", run.finished_at),
        Field("Scanner", f"govscan {run.scanner_version}"),
        Field("Catalog", f"{run.catalog_id} {run.catalog_version}"),
        Field("Document digest", scan.digest),
        Field("Findings", str(len(run.findings))),
        Field("API calls", str(len(run.calls))),
    )
    warnings = []
    if not run.complete:
        warnings.append("The scan was interrupted: this document is incomplete and some checks did not run.")
    warnings.extend(f"Region {s.region} was skipped: {s.reason}" for s in run.skipped_regions)
    calls = _calls_shown(run, controls)
    customer_ids = {c.id for c in controls}
    unscanned = [c.id for c in catalog.controls if c.scope == CUSTOMER_EXAMPLE and c.id not in customer_ids]
    if unscanned:
        warnings.append(f"Only a selection of checks ran; not scanned: {', '.join(unscanned)}.")
    return AppendixView(
        title=f"Evidence appendix: {account_name(run)} ({t.account_id})",
        account_id=t.account_id,
        label=t.label,
        digest=scan.digest,
        summary=summary,
        totals=counts(f.status.value for f in run.findings),
        warnings=tuple(warnings),
        controls=controls,
        practice_controls=len(run.controls) - len(controls),
        calls=calls,
        calls_omitted=len(run.calls) - len(calls),
        notes_given=notes is not None,
        missing_narratives=tuple(c.id for c in controls if c.needs_narrative and c.narrative is None),
        ignored_notes=tuple(sorted(k for k in (notes or {}) if k not in customer_ids)),
    )
