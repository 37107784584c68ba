"""The roll-up's "every mapped check has findings" rule, its reconciliation of older documents, and
which MET statuses rest on nothing in scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from fixtures.sample_docs import SAMPLE_SPECS, sample_runs
from scanner.catalog import load_catalog
from scanner.models import (
    CheckSpec,
    ControlResult,
    ControlStatus,
    CriterionResult,
    Finding,
    Scope,
    Severity,
    Status,
)
from scanner.rollup import criterion_status, reconcile, roll_up, vacuous_controls, vacuous_criteria

CATALOG = load_catalog()
ACCOUNT = "111122223333"


def _never(ctx: object) -> Iterator[Finding]:
    yield from ()


def _spec(check_id: str, criteria: tuple[str, ...]) -> CheckSpec:
    return CheckSpec(id=check_id, title=check_id, severity=Severity.HIGH, criteria=criteria,
                     permissions=("iam:GetAccountSummary",), scope=Scope.GLOBAL, func=_never, module="checks.iam")


def _finding(check_id: str, status: Status, criteria: tuple[str, ...] = ("ACCT-001.2",)) -> Finding:
    return Finding(check_id, status, Severity.HIGH, criteria, "global", ACCOUNT, "AWS::::Account", "m", {}, ())


SPECS = {
    "iam_root_mfa_enabled": _spec("iam_root_mfa_enabled", ("ACCT-001.2",)),
    "iam_root_hardware_mfa": _spec("iam_root_hardware_mfa", ("ACCT-001.2",)),
}


def _acct_001_2(findings: list[Finding]) -> tuple[ControlStatus, ControlStatus]:
    (control,) = roll_up(CATALOG, findings, SPECS, partial=True)
    (criterion,) = [k for k in control.criteria if k.id == "ACCT-001.2"]
    return criterion.status, control.status


def test_met_needs_a_finding_from_every_mapped_check() -> None:
    both = [_finding("iam_root_mfa_enabled", Status.PASS), _finding("iam_root_hardware_mfa", Status.NOT_APPLICABLE)]
    assert _acct_001_2(both) == (ControlStatus.MET, ControlStatus.MET)
    # An interrupted scan: the hardware MFA check never reported. Not MET on the word of the other.
    assert _acct_001_2(both[:1]) == (ControlStatus.INCOMPLETE, ControlStatus.INCOMPLETE)
    # A FAIL found is a failure, whatever else did not run.
    assert _acct_001_2([_finding("iam_root_mfa_enabled", Status.FAIL)])[0] is ControlStatus.NOT_MET
    assert _acct_001_2([])[0] is ControlStatus.INCOMPLETE


def test_criterion_status_with_and_without_the_check_list() -> None:
    passed = [_finding("iam_root_mfa_enabled", Status.PASS)]
    assert criterion_status(passed, True) is ControlStatus.MET  # no list given: the findings alone
    assert criterion_status(passed, True, ["iam_root_mfa_enabled"]) is ControlStatus.MET
    assert criterion_status(passed, True, ["iam_root_mfa_enabled", "iam_root_hardware_mfa"]) is (
        ControlStatus.INCOMPLETE)
    assert criterion_status([], False, []) is ControlStatus.MANUAL


def test_reconcile_only_turns_an_unfounded_met_into_incomplete() -> None:
    written = (
        ControlResult("ACCT-001", ControlStatus.MET, (
            CriterionResult("ACCT-001.2", ControlStatus.MET, ("iam_root_hardware_mfa", "iam_root_mfa_enabled")),
            CriterionResult("ACCT-001.5", ControlStatus.MANUAL, ()),
        )),
        ControlResult("NETSEC-001", ControlStatus.NOT_MET, (
            CriterionResult("NETSEC-001.1", ControlStatus.NOT_MET, ("ec2_sg_no_internet_admin_ports",)),
        )),
        ControlResult("TEC-001", ControlStatus.MET, (
            CriterionResult("TEC-001.2", ControlStatus.MET, ("backup_restore_tested",)),
        )),
    )
    findings = [_finding("iam_root_mfa_enabled", Status.PASS),
                _finding("backup_restore_tested", Status.PASS, ("TEC-001.2",))]
    controls, changed = reconcile(written, findings)
    assert changed == ("ACCT-001.2",)
    assert [(c.id, c.status) for c in controls] == [
        ("ACCT-001", ControlStatus.INCOMPLETE), ("NETSEC-001", ControlStatus.NOT_MET), ("TEC-001", ControlStatus.MET)]
    assert controls[0].criteria[1] == written[0].criteria[1] and controls[1:] == written[1:]
    assert reconcile(controls, findings) == (controls, ())  # nothing left to change


def test_met_with_nothing_in_scope_is_named_for_criteria_and_controls() -> None:
    """The bakery has no databases: TEC-001.1 and REL-002.2 are MET on NOT_APPLICABLE findings
    alone. Its controls are not: TEC-001 and REL-002 also rest on PASS findings."""
    bakery = sample_runs()[2]
    assert vacuous_criteria(bakery) == {"TEC-001.1", "REL-002.2"}
    assert vacuous_controls(bakery) == frozenset()
    # With the RPO/RTO check NOT_APPLICABLE too, REL-002 rests only on nothing in scope (REL-002.3
    # is manual and does not count); TEC-001 still has TEC-001.2's PASS.
    findings = tuple(replace(f, status=Status.NOT_APPLICABLE) if f.check_id == "backup_rpo_rto_targets" else f
                     for f in bakery.findings)
    kept = {c.id for c in bakery.controls}
    controls = tuple(c for c in roll_up(CATALOG, findings, SAMPLE_SPECS) if c.id in kept)
    empty = replace(bakery, findings=findings, controls=controls)
    by_id = {c.id: c for c in controls}
    assert by_id["REL-002"].status is by_id["TEC-001"].status is ControlStatus.MET  # the statuses stand
    assert vacuous_criteria(empty) == {"TEC-001.1", "TEC-001.3", "REL-002.1", "REL-002.2"}
    assert vacuous_controls(empty) == {"REL-002"}
    # One PASS among NOT_APPLICABLE findings is a real example: NETSEC-001.2 is not vacuous.
    extra = replace(next(f for f in findings if f.check_id == "ec2_default_sg_closed"),
                    status=Status.NOT_APPLICABLE, resource_id="sg-none")
    mixed = replace(empty, findings=(*findings, extra))
    assert "NETSEC-001.2" not in vacuous_criteria(mixed)
    # A criterion that is not MET is never vacuous, whatever its findings: here REL-002.2 names a
    # second check that produced nothing, so it is INCOMPLETE on NOT_APPLICABLE findings alone.
    widened = tuple(
        replace(c, criteria=tuple(replace(k, check_ids=(*k.check_ids, "rds_cluster_multi_az")) if k.id == "REL-002.2"
                                  else k for k in c.criteria))
        for c in controls
    )
    reconciled, changed = reconcile(widened, findings)
    assert changed == ("REL-002.2",)
    unmet = replace(empty, controls=reconciled)
    assert vacuous_criteria(unmet) == {"TEC-001.1", "TEC-001.3", "REL-002.1"}
    assert vacuous_controls(unmet) == frozenset()
