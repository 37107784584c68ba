"""Control roll-up per account (DESIGN.md "Control roll-up").

A criterion is MET when its checks have findings and all are PASS or NOT_APPLICABLE, NOT_MET
when any is FAIL, INCOMPLETE when none FAIL but some ERROR (or its checks were not run),
MANUAL when no automated check evidences it. A control takes the worst of its automated
criteria; MANUAL criteria are listed but do not count against it. A control with only
MANUAL criteria is MANUAL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scanner.catalog import Catalog
from scanner.models import CheckSpec, ControlResult, ControlStatus, CriterionResult, Finding, Status

_WORST_FIRST = (ControlStatus.NOT_MET, ControlStatus.INCOMPLETE, ControlStatus.MET)


def criterion_status(findings: Iterable[Finding], has_checks: bool) -> ControlStatus:
    if not has_checks:
        return ControlStatus.MANUAL
    statuses = {f.status for f in findings}
    if Status.FAIL in statuses:
        return ControlStatus.NOT_MET
    if Status.ERROR in statuses or not statuses:
        return ControlStatus.INCOMPLETE
    return ControlStatus.MET


def worst(statuses: Iterable[ControlStatus]) -> ControlStatus:
    counted = [s for s in statuses if s is not ControlStatus.MANUAL]
    if not counted:
        return ControlStatus.MANUAL
    for status in _WORST_FIRST:
        if status in counted:
            return status
    return ControlStatus.MET


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
    by_criterion: dict[str, list[Finding]] = {}
    for finding in findings:
        for criterion in finding.criteria:
            by_criterion.setdefault(criterion, []).append(finding)
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
                status=criterion_status(by_criterion.get(c.id, ()), bool(checks_by_criterion.get(c.id))),
                check_ids=tuple(sorted(checks_by_criterion.get(c.id, ()))),
            )
            for c in control.criteria
        )
        results.append(ControlResult(id=control.id, status=worst(c.status for c in criteria), criteria=criteria))
    return tuple(results)
