"""Control roll-up per account (DESIGN.md "Control roll-up").

A criterion is MET when its checks have findings and all are PASS or NOT_APPLICABLE, NOT_MET
when any is FAIL, INCOMPLETE when none FAIL but some ERROR (or its checks were not run),
MANUAL when no automated check evidences it. A control takes the worst of its automated
criteria; MANUAL criteria are listed but do not count against it. A control with only
MANUAL criteria is MANUAL.

"Its checks have findings" means every one of them: a criterion evidenced by three checks is
not MET on the word of two when the third produced no finding at all. The runner turns a check
that yields nothing into an ERROR finding, so a silent check is only possible in an interrupted
(incomplete) document, or for a regional check when no region could be scanned; either way the
criterion was not fully evaluated and is INCOMPLETE, the status DESIGN.md gives to "could not
evaluate". A FAIL still makes it NOT_MET: a failure found is a failure, whatever else did not run.

:func:`reconcile` applies the same rule to the controls of a document written before it (reports
re-derive the statuses so that no appendix shows MET beside a check that produced no finding).

"Nothing in scope". The rule makes a criterion MET when all its findings are NOT_APPLICABLE: an
account without databases "meets" REL-002.2 (multi-AZ databases) vacuously. The status stays
MET (the contract); :func:`vacuous_criteria` and :func:`vacuous_controls` name such criteria and
the controls whose MET rests only on them, so that every report (and the CLI) can say "MET, but
nothing in scope" and a partner sees that the control still lacks a real customer example.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from scanner.catalog import Catalog
from scanner.models import CheckSpec, ControlResult, ControlStatus, CriterionResult, Finding, ScanRun, Status

_WORST_FIRST = (ControlStatus.NOT_MET, ControlStatus.INCOMPLETE, ControlStatus.MET)


def criterion_status(
    findings: Iterable[Finding], has_checks: bool, check_ids: Iterable[str] | None = None
) -> ControlStatus:
    """The status of one criterion from its findings. ``check_ids``: the selected checks mapped to
    it; when given, each must have at least one finding for the criterion to be MET."""
    if not has_checks:
        return ControlStatus.MANUAL
    found = list(findings)
    statuses = {f.status for f in found}
    if Status.FAIL in statuses:
        return ControlStatus.NOT_MET
    if Status.ERROR in statuses or not statuses:
        return ControlStatus.INCOMPLETE
    if check_ids is not None and set(check_ids) - {f.check_id for f in found}:
        return ControlStatus.INCOMPLETE  # a mapped check produced no finding: not evaluated
    return ControlStatus.MET


def worst(statuses: Iterable[ControlStatus]) -> ControlStatus:
    counted = [s for s in statuses if s is not ControlStatus.MANUAL]
    if not counted:
        return ControlStatus.MANUAL
    for status in _WORST_FIRST:
        if status in counted:
            return status
    return ControlStatus.MET


def _by_criterion(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    by_criterion: dict[str, list[Finding]] = {}
    for finding in findings:
        for criterion in finding.criteria:
            by_criterion.setdefault(criterion, []).append(finding)
    return by_criterion


def roll_up(
    catalog: Catalog,
    findings: Iterable[Finding],
    checks: Mapping[str, CheckSpec],
    *,
    partial: bool = False,
) -> tuple[ControlResult, ...]:
    """Controls of the catalog with their status, given the checks that ran and their findings.

    ``partial`` (a ``--checks``/``--controls`` selection): only controls that at least one of
    the selected checks evidences are rolled up, so an unscanned control is never shown as
    MANUAL or MET.
    """
    by_criterion = _by_criterion(findings)
    checks_by_criterion: dict[str, list[str]] = {}
    for spec in checks.values():
        for criterion in spec.criteria:
            checks_by_criterion.setdefault(criterion, []).append(spec.id)
    results = []
    for control in catalog.controls:
        if partial and not any(checks_by_criterion.get(c.id) for c in control.criteria):
            continue
        criteria = tuple(
            CriterionResult(
                id=c.id,
                status=criterion_status(
                    by_criterion.get(c.id, ()),
                    bool(checks_by_criterion.get(c.id)),
                    checks_by_criterion.get(c.id, ()),
                ),
                check_ids=tuple(sorted(checks_by_criterion.get(c.id, ()))),
            )
            for c in control.criteria
        )
        results.append(ControlResult(id=control.id, status=worst(c.status for c in criteria), criteria=criteria))
    return tuple(results)


def reconcile(
    controls: Iterable[ControlResult], findings: Iterable[Finding]
) -> tuple[tuple[ControlResult, ...], tuple[str, ...]]:
    """A document's controls with every MET criterion whose ``check_ids`` include a check without a
    finding for it made INCOMPLETE (and its control re-derived), plus the ids of the criteria so
    changed. Nothing else changes: a document's NOT_MET, INCOMPLETE and MANUAL stand as written."""
    by_criterion = _by_criterion(findings)
    changed: list[str] = []
    results = []
    for control in controls:
        criteria = []
        for crit in control.criteria:
            produced = {f.check_id for f in by_criterion.get(crit.id, ())}
            if crit.status is ControlStatus.MET and set(crit.check_ids) - produced:
                crit = replace(crit, status=ControlStatus.INCOMPLETE)
                changed.append(crit.id)
            criteria.append(crit)
        if criteria != list(control.criteria):
            control = replace(control, status=worst(c.status for c in criteria), criteria=tuple(criteria))
        results.append(control)
    return tuple(results), tuple(changed)


def vacuous_criteria(run: ScanRun) -> frozenset[str]:
    """Ids of the criteria ``run`` rolls up as MET although every one of their findings is
    NOT_APPLICABLE: met with nothing in scope. Statuses as they stand in ``run`` (the reports pass
    the reconciled run); a criterion with one PASS among its NOT_APPLICABLE findings is not vacuous."""
    by_criterion = _by_criterion(run.findings)
    return frozenset(
        crit.id
        for control in run.controls
        for crit in control.criteria
        if crit.status is ControlStatus.MET
        and by_criterion.get(crit.id)
        and all(f.status is Status.NOT_APPLICABLE for f in by_criterion[crit.id])
    )


def vacuous_controls(run: ScanRun) -> frozenset[str]:
    """Ids of the controls ``run`` rolls up as MET whose automated criteria are all met with nothing
    in scope (:func:`vacuous_criteria`; MANUAL criteria do not count, as in the roll-up)."""
    empty = vacuous_criteria(run)
    return frozenset(
        control.id
        for control in run.controls
        if control.status is ControlStatus.MET
        and all(c.id in empty for c in control.criteria if c.status is not ControlStatus.MANUAL)
    )
