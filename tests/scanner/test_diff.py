"""Diff by finding key on crafted runs (every change kind), status over a timeline, the window."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scanner.diff import (
    ChangeKind,
    ControlChange,
    diff_documents,
    diff_to_json,
    format_diff,
    resolve_run,
    triggered,
)
from scanner.document import dumps
from scanner.history import HistoryError, Store
from scanner.models import ControlStatus, Status
from scanner.status import add_months, control_states, window
from tests.scanner.test_history import ACCOUNT, make_doc, stamp

E1 = "us-east-1"
G = "global"

OLD = [
    ("sg_admin_ports", "sg-regressed", E1, "PASS"),  # -> FAIL: regression
    ("sg_admin_ports", "sg-na", E1, "NOT_APPLICABLE"),  # -> FAIL: regression
    ("sg_admin_ports", "sg-fixed", E1, "FAIL"),  # -> PASS: resolved
    ("sg_admin_ports", "sg-deleted", E1, "FAIL"),  # gone: resolved
    ("sg_admin_ports", "sg-still", E1, "FAIL"),  # FAIL, reworded: no change
    ("root_mfa", ACCOUNT, G, "PASS"),  # -> ERROR: newly error
    ("trail_logging", ACCOUNT, G, "ERROR"),  # -> FAIL: new fail (was not evaluated)
    ("bucket_public", "b-1", E1, "FAIL"),  # -> ERROR: newly error
    ("bucket_public", "b-2", E1, "ERROR"),  # ERROR again: no change
    ("old_check", ACCOUNT, G, "FAIL"),  # check not run any more: not compared
    ("sg_admin_ports", "sg-west", "eu-west-1", "FAIL"),  # region dropped: not compared
]
NEW = [
    ("sg_admin_ports", "sg-regressed", E1, "FAIL"),
    ("sg_admin_ports", "sg-na", E1, "FAIL"),
    ("sg_admin_ports", "sg-fixed", E1, "PASS"),
    ("sg_admin_ports", "sg-still", E1, "FAIL"),
    ("sg_admin_ports", "sg-new", E1, "FAIL"),  # a new resource failing: new fail
    ("sg_admin_ports", "sg-new-ok", E1, "PASS"),  # new and fine: no change
    ("root_mfa", ACCOUNT, G, "ERROR"),
    ("trail_logging", ACCOUNT, G, "FAIL"),
    ("bucket_public", "b-1", E1, "ERROR"),
    ("bucket_public", "b-2", E1, "ERROR"),
    ("new_check", ACCOUNT, G, "FAIL"),  # check new in this release: not compared
]


def crafted() -> tuple[dict[str, object], dict[str, object]]:
    old = make_doc("run-old", OLD, started_at=stamp(1), regions=("us-east-1", "eu-west-1"),
                   controls={"ACCT-001": "MET", "NETSEC-001": "NOT_MET", "TEC-001": "INCOMPLETE", "OPE-001": "MET"})
    new = make_doc("run-new", NEW, started_at=stamp(2), regions=("us-east-1",),
                   controls={"ACCT-001": "NOT_MET", "NETSEC-001": "MET", "TEC-001": "INCOMPLETE", "COST-001": "MET"},
                   messages={"sg-still": "Security group sg-still admits 0.0.0.0/0 on 22 and 3389 (reworded)."})
    return old, new


def test_every_change_kind_by_finding_key() -> None:
    old, new = crafted()
    diff = diff_documents(old, new)
    keys = {
        kind: [(c.check_id, c.resource_id, c.old_status, c.new_status) for c in diff.of(kind)] for kind in ChangeKind
    }
    assert keys == {
        ChangeKind.REGRESSION: [
            ("sg_admin_ports", "sg-na", Status.NOT_APPLICABLE, Status.FAIL),
            ("sg_admin_ports", "sg-regressed", Status.PASS, Status.FAIL),
        ],
        ChangeKind.NEW_FAIL: [
            ("sg_admin_ports", "sg-new", None, Status.FAIL),
            ("trail_logging", ACCOUNT, Status.ERROR, Status.FAIL),
        ],
        ChangeKind.RESOLVED: [
            ("sg_admin_ports", "sg-deleted", Status.FAIL, None),
            ("sg_admin_ports", "sg-fixed", Status.FAIL, Status.PASS),
        ],
        ChangeKind.NEWLY_ERROR: [
            ("bucket_public", "b-1", Status.FAIL, Status.ERROR),
            ("root_mfa", ACCOUNT, Status.PASS, Status.ERROR),
        ],
        ChangeKind.NOT_EVALUATED: [],
    }
    assert diff.not_compared == 3  # old_check, new_check, the eu-west-1 finding
    assert diff.controls == (
        ControlChange("ACCT-001", ControlStatus.MET, ControlStatus.NOT_MET),
        ControlChange("NETSEC-001", ControlStatus.NOT_MET, ControlStatus.MET),
    )
    assert [c.control_id for c in diff.control_regressions] == ["ACCT-001"]
    assert diff.warnings == ()


def test_a_reworded_message_alone_is_no_change() -> None:
    findings = [("sg_admin_ports", "sg-1", E1, "FAIL"), ("root_mfa", ACCOUNT, G, "PASS")]
    old = make_doc("a", findings, started_at=stamp(1))
    new = make_doc("b", findings, started_at=stamp(2), messages={"sg-1": "entirely different words", ACCOUNT: "x"})
    diff = diff_documents(old, new)
    assert diff.findings == () and diff.controls == () and diff.not_compared == 0
    assert triggered(diff, ["regression", "new-fail", "newly-error"]) == []


def test_fail_on_kinds() -> None:
    old, new = crafted()
    diff = diff_documents(old, new)
    assert triggered(diff, ["regression"]) == ["2 finding regression(s), 1 control regression(s)"]
    assert triggered(diff, ["new-fail"]) == ["4 finding(s) newly FAIL"]
    assert triggered(diff, ["newly-error"]) == ["2 finding(s) newly ERROR"]
    only_new_resource = diff_documents(
        make_doc("a", [("sg_admin_ports", "sg-1", E1, "PASS")], started_at=stamp(1), controls={"NETSEC-001": "MET"}),
        make_doc("b", [("sg_admin_ports", "sg-1", E1, "PASS"), ("sg_admin_ports", "sg-2", E1, "FAIL")],
                 started_at=stamp(2), controls={"NETSEC-001": "NOT_MET"}),
    )
    assert [c.resource_id for c in only_new_resource.of(ChangeKind.NEW_FAIL)] == ["sg-2"]
    # A control that was MET and no longer is counts as a regression even when the finding is new.
    assert triggered(only_new_resource, ["regression"]) == ["0 finding regression(s), 1 control regression(s)"]


def test_text_and_json_renderings() -> None:
    old, new = crafted()
    diff = diff_documents(old, new)
    text = format_diff(diff)
    assert text[0] == f"clinic ({ACCOUNT}): run-old ({stamp(1)}) -> run-new ({stamp(2)})"
    assert text[1] == "REGRESSION (PASS -> FAIL): 2"
    assert "  sg_admin_ports  us-east-1  sg-regressed  PASS -> FAIL  [high]" in text
    assert "  sg_admin_ports  us-east-1  sg-deleted  FAIL -> (gone)  [high]" in text
    assert "  sg_admin_ports  us-east-1  sg-new  (absent) -> FAIL  [high]" in text
    assert "  ACCT-001    MET -> NOT_MET  (regression)" in text
    assert text[-1] == (
        "Summary: 2 regression(s), 2 new FAIL, 2 resolved, 2 newly ERROR; 2 control(s) changed "
        "(1 MET -> NOT_MET); 3 finding(s) outside the common scope, not compared"
    )
    as_json = diff_to_json(diff)
    assert [c["resource_id"] for c in as_json["changes"]["regression"]] == ["sg-na", "sg-regressed"]
    assert as_json["controls"][0] == {"id": "ACCT-001", "old": "MET", "new": "NOT_MET", "regression": True}
    assert as_json["not_compared"] == 3


W1 = "eu-west-1"
BUCKET = "arn:aws:s3:::"


def test_fail_keys_hidden_by_a_denied_list_call_are_not_evaluated_never_resolved() -> None:
    """A denied list call gives one ERROR keyed by the account id: the per-resource FAIL keys of
    that check and region vanish from the new run, but their resources were not looked at."""
    regions = (E1, W1)
    old = make_doc("a", [
        ("s3_default_encryption", BUCKET + "logs", E1, "FAIL"),  # a global check, findings in bucket regions
        ("s3_default_encryption", BUCKET + "media", W1, "FAIL"),
        ("sg_admin_ports", "sg-1", E1, "FAIL"),  # us-east-1: DescribeSecurityGroups denied now
        ("sg_admin_ports", "sg-2", E1, "PASS"),
        ("sg_admin_ports", "sg-3", W1, "FAIL"),  # eu-west-1 evaluated: sg-3 really is gone
        ("sg_admin_ports", "sg-4", W1, "PASS"),
    ], started_at=stamp(1), regions=regions)
    new = make_doc("b", [
        ("s3_default_encryption", ACCOUNT, G, "ERROR"),  # s3:ListAllMyBuckets denied
        ("sg_admin_ports", ACCOUNT, E1, "ERROR"),
        ("sg_admin_ports", "sg-4", W1, "PASS"),
    ], started_at=stamp(2), regions=regions)
    diff = diff_documents(old, new)
    unevaluated = {(c.resource_id, c.region): c.reason for c in diff.of(ChangeKind.NOT_EVALUATED)}
    assert unevaluated == {
        (BUCKET + "logs", E1): "the check could not evaluate account-wide (ERROR, region global) in the new run",
        (BUCKET + "media", W1): "the check could not evaluate account-wide (ERROR, region global) in the new run",
        ("sg-1", E1): "the check could not evaluate in us-east-1 (ERROR) in the new run",
    }
    assert [(c.resource_id, c.new_status) for c in diff.of(ChangeKind.RESOLVED)] == [("sg-3", None)]
    assert [c.resource_id for c in diff.of(ChangeKind.NEWLY_ERROR)] == [ACCOUNT, ACCOUNT]
    text = format_diff(diff)
    heading = text.index("NOT EVALUATED (FAIL before; the new run gives no verdict, so not resolved): 3")
    assert text[heading + 1] == f"  s3_default_encryption  {E1}  {BUCKET}logs  FAIL -> (not evaluated)  [high]"
    assert text[heading + 3] == (
        "      not resolved: the check could not evaluate account-wide (ERROR, region global) in the new run"
    )
    assert "RESOLVED: 1" in text
    assert text[-1] == (
        "Summary: 0 regression(s), 0 new FAIL, 1 resolved, 2 newly ERROR; 0 control(s) changed "
        "(0 MET -> NOT_MET); 3 earlier FAIL(s) not evaluated in the new run (not resolved)"
    )
    as_json = diff_to_json(diff)
    assert [c["resource_id"] for c in as_json["changes"]["not_evaluated"]] == [BUCKET + "logs", BUCKET + "media",
                                                                               "sg-1"]
    assert as_json["changes"]["not_evaluated"][2]["reason"].startswith("the check could not evaluate in us-east-1")
    assert "reason" not in as_json["changes"]["resolved"][0]


def test_fail_keys_of_a_check_that_did_not_run_or_of_an_incomplete_run_are_not_evaluated() -> None:
    old = make_doc("a", [("trail_logging", ACCOUNT, G, "FAIL"), ("sg_admin_ports", "sg-1", E1, "FAIL")],
                   started_at=stamp(1))
    # Both checks were selected, but trail_logging produced nothing (an interrupted scan).
    new = make_doc("b", [("sg_admin_ports", "sg-2", E1, "PASS")], started_at=stamp(2),
                   checks=("trail_logging", "sg_admin_ports"))
    diff = diff_documents(old, new)
    assert [(c.check_id, c.reason) for c in diff.of(ChangeKind.NOT_EVALUATED)] == [
        ("trail_logging", "the check produced no finding in the new run (it did not run)")]
    assert [c.resource_id for c in diff.of(ChangeKind.RESOLVED)] == ["sg-1"]
    interrupted = make_doc("c", [("sg_admin_ports", "sg-2", E1, "PASS"), ("trail_logging", ACCOUNT, G, "PASS")],
                           started_at=stamp(3), complete=False)
    diff = diff_documents(old, interrupted)
    assert [c.resource_id for c in diff.of(ChangeKind.NOT_EVALUATED)] == ["sg-1"]
    assert diff.of(ChangeKind.NOT_EVALUATED)[0].reason.startswith("the new run is incomplete")
    # A key that is there, evaluated, still resolves in an incomplete run.
    assert [c.check_id for c in diff.of(ChangeKind.RESOLVED)] == ["trail_logging"]


def test_warnings_for_odd_comparisons() -> None:
    a = make_doc("a", started_at=stamp(2))
    b = make_doc("b", started_at=stamp(1), account_id="222233334444", complete=False)
    assert diff_documents(a, b).warnings == (
        f"the runs are of different accounts ({ACCOUNT} and 222233334444)",
        "OLD is more recent than NEW: the changes read backwards",
        "an interrupted (incomplete) run is compared: missing findings are not counted as resolved",
    )


def test_resolving_run_references(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite")
    for i, day in enumerate((1, 2, 3), start=1):
        store.save(make_doc(f"clinic-{i}", started_at=stamp(day)))
    store.save(make_doc("clinic-4", started_at=stamp(4), complete=False))
    store.save(make_doc("retail-1", label="retail", account_id="222233334444", started_at=stamp(1)))
    assert resolve_run("latest", store, "clinic")["scan_id"] == "clinic-3"
    assert resolve_run("previous", store, "clinic")["scan_id"] == "clinic-2"
    second = resolve_run("clinic-2", store)
    assert resolve_run("previous", store, relative_to=second)["scan_id"] == "clinic-1"
    assert resolve_run("latest", store, ACCOUNT)["scan_id"] == "clinic-3", "an account id works as the label"
    with pytest.raises(HistoryError, match=r"'latest' needs --account LABEL \(accounts in the store: clinic, retail\)"):
        resolve_run("latest", store)
    with pytest.raises(HistoryError, match="'retail' has no complete run before retail-1"):
        resolve_run("previous", store, "retail")
    path = tmp_path / "saved.json"
    path.write_text(dumps(make_doc("from-file")))
    assert resolve_run(str(path), store)["scan_id"] == "from-file"
    with pytest.raises(HistoryError, match="cannot read a JSON scan document"):
        resolve_run(str(tmp_path / "missing.json"), store)


def test_status_since_and_last_met(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite")
    timeline = [
        (1, {"ACCT-001": "MET", "NETSEC-001": "NOT_MET", "OPE-002": "MANUAL"}),
        (2, {"ACCT-001": "NOT_MET", "NETSEC-001": "NOT_MET"}),
        (3, {"ACCT-001": "NOT_MET"}),  # a --controls ACCT-001 run: NETSEC-001's streak goes on
        (4, {"ACCT-001": "NOT_MET", "NETSEC-001": "NOT_MET"}),
    ]
    for day, controls in timeline:
        store.save(make_doc(f"r{day}", started_at=stamp(day), controls=controls))
    states = {s.control_id: s for s in control_states(store.control_timeline("clinic"))}
    assert set(states) == {"ACCT-001", "NETSEC-001"}, "MANUAL controls have no automated status"
    assert (states["ACCT-001"].status, states["ACCT-001"].since, states["ACCT-001"].last_met) == (
        ControlStatus.NOT_MET, stamp(2), stamp(1))
    assert (states["NETSEC-001"].since, states["NETSEC-001"].last_met, states["NETSEC-001"].runs) == (
        stamp(1), None, 3)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 15), date(2026, 7, 15)),
        (date(2026, 3, 31), date(2026, 9, 30)),  # no 31 September: the month's last day
        (date(2025, 8, 31), date(2026, 2, 28)),
        (date(2027, 8, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 9, 1), date(2027, 3, 1)),
    ],
)
def test_six_calendar_months(start: date, end: date) -> None:
    assert add_months(start, 6) == end


def test_window_days_left() -> None:
    assert window(date(2026, 1, 15), date(2026, 7, 5)).days_left == 10
    assert window(date(2026, 1, 15), date(2026, 7, 5)).describe() == "window 2026-01-15 -> 2026-07-15: 10 days left"
    closed = window(date(2026, 1, 15), date(2026, 7, 20))
    assert closed.describe() == "window 2026-01-15 -> 2026-07-15 closed 5 days ago"
    assert window(date(2026, 1, 15), date(2026, 1, 10)).describe() == (
        "window 2026-01-15 -> 2026-07-15 has not started (5 days to go)"
    )


def test_through_the_runner_a_denied_list_call_resolves_nothing(run_scan) -> None:  # type: ignore[no-untyped-def]
    """The audit's case on moto: last run, SSH open to the world on sg 'web'; this run,
    ec2:DescribeSecurityGroups is denied. The group was not looked at: not resolved."""
    from fixtures.moto_ext import faults
    from fixtures.world import World
    from fixtures.worlds import ec2 as ec2_worlds
    from scanner.document import to_document

    check = "ec2_sg_no_internet_admin_ports"
    web = ec2_worlds.security_group(World(), E1, "web", [ec2_worlds.tcp(22, v4=("0.0.0.0/0",))])
    before = to_document(run_scan([check]))
    failed = [f["resource_id"] for f in before["findings"] if f["status"] == "FAIL"]
    assert len(failed) == 1 and failed[0].endswith(f"security-group/{web}")
    faults.deny("ec2:DescribeSecurityGroups")
    after = to_document(run_scan([check]))
    assert [(f["status"], f["resource_id"], f["region"]) for f in after["findings"]] == [
        ("ERROR", after["target"]["account_id"], E1)]
    diff = diff_documents(before, after)
    assert diff.of(ChangeKind.RESOLVED) == ()
    (unevaluated,) = diff.of(ChangeKind.NOT_EVALUATED)
    assert (unevaluated.resource_id, unevaluated.reason) == (
        failed[0], "the check could not evaluate in us-east-1 (ERROR) in the new run")
