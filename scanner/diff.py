"""What changed between two runs of an account: two scan documents (``govscan diff``).

Findings are matched by their key ``(check_id, resource_id, region)``, never by message text
(messages may be reworded between releases). Each changed key falls in exactly one kind:

``regression``   the key was PASS or NOT_APPLICABLE and is now FAIL;
``new_fail``     the key is FAIL and was absent (a new resource) or ERROR (not evaluated);
``resolved``     the key was FAIL and is now PASS or NOT_APPLICABLE, or has disappeared with
                 its resource;
``newly_error``  the key is ERROR and was not (a permission removed, a service throttling);
``not_evaluated`` the key was FAIL and is absent from the new run, but the new run cannot say
                 that its resource is gone: the check reported ERROR in that region (or
                 account-wide, "global": a denied list call gives one ERROR keyed by the account
                 id, not one per resource), the check produced no finding at all, or the new
                 run is incomplete (interrupted). Such a key is never counted as resolved.

Only the common scope is compared: checks both runs ran, in regions both runs scanned (plus
"global"). A key outside it (a check added by a newer govscan, a region dropped from the
accounts file) is counted as "not compared", never reported as resolved or new. Control
changes are listed for controls both runs rolled up; MET -> NOT_MET is a control regression.

``--fail-on`` kinds (:func:`triggered`): ``regression`` = any finding regression or control
regression; ``new-fail`` = anything newly FAIL (regressions included); ``newly-error``.

The account's run timeline (``govscan status``) is in :mod:`scanner.status`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.document import DocumentError, load
from scanner.history import HistoryError, Store
from scanner.models import GLOBAL_REGION, ControlStatus, Status

Key = tuple[str, str, str]

FAIL_ON_KINDS = ("regression", "new-fail", "newly-error")


class ChangeKind(enum.StrEnum):
    REGRESSION = "regression"
    NEW_FAIL = "new_fail"
    RESOLVED = "resolved"
    NEWLY_ERROR = "newly_error"
    NOT_EVALUATED = "not_evaluated"


_HEADINGS = {
    ChangeKind.REGRESSION: "REGRESSION (PASS -> FAIL)",
    ChangeKind.NEW_FAIL: "NEW FAIL",
    ChangeKind.RESOLVED: "RESOLVED",
    ChangeKind.NEWLY_ERROR: "NEWLY ERROR",
    ChangeKind.NOT_EVALUATED: "NOT EVALUATED (FAIL before; the new run gives no verdict, so not resolved)",
}
_GOOD = (Status.PASS, Status.NOT_APPLICABLE)


@dataclass(frozen=True)
class FindingChange:
    kind: ChangeKind
    check_id: str
    resource_id: str
    region: str
    old_status: Status | None
    new_status: Status | None
    severity: str
    message: str  # the newer message (the older one if the finding disappeared)
    reason: str = ""  # NOT_EVALUATED: why the new run gives no verdict on the key

    @property
    def key(self) -> Key:
        return (self.check_id, self.resource_id, self.region)


@dataclass(frozen=True)
class ControlChange:
    control_id: str
    old: ControlStatus
    new: ControlStatus

    @property
    def regression(self) -> bool:
        return self.old is ControlStatus.MET and self.new is ControlStatus.NOT_MET


@dataclass(frozen=True)
class RunRef:
    scan_id: str
    label: str
    account_id: str
    started_at: str

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> RunRef:
        target = doc["target"]
        return cls(doc["scan_id"], target["label"] or target["account_id"], target["account_id"], doc["started_at"])


@dataclass(frozen=True)
class ScanDiff:
    old: RunRef
    new: RunRef
    findings: tuple[FindingChange, ...]
    controls: tuple[ControlChange, ...]
    not_compared: int
    warnings: tuple[str, ...] = ()

    def of(self, kind: ChangeKind) -> tuple[FindingChange, ...]:
        return tuple(c for c in self.findings if c.kind is kind)

    @property
    def control_regressions(self) -> tuple[ControlChange, ...]:
        return tuple(c for c in self.controls if c.regression)


def _scope(doc: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    checks = doc.get("options", {}).get("checks")
    check_ids = set(checks) if isinstance(checks, list) else {f["check_id"] for f in doc["findings"]}
    return check_ids, {*doc["target"]["regions"], GLOBAL_REGION}


def _classify(old: Status | None, new: Status | None) -> ChangeKind | None:
    if new is Status.FAIL:
        if old in _GOOD:
            return ChangeKind.REGRESSION
        return None if old is Status.FAIL else ChangeKind.NEW_FAIL
    if old is Status.FAIL and (new is None or new in _GOOD):
        return ChangeKind.RESOLVED
    if new is Status.ERROR and old is not Status.ERROR:
        return ChangeKind.NEWLY_ERROR
    return None


def _by_key(doc: Mapping[str, Any]) -> dict[Key, Mapping[str, Any]]:
    return {(f["check_id"], f["resource_id"], f["region"]): f for f in doc["findings"]}


def _unevaluated(doc: Mapping[str, Any]) -> Callable[[str, str], str]:
    """For a FAIL key missing from ``doc``: why ``doc`` cannot say that its resource is gone
    (``""``: it can, the key is resolved)."""
    ran: set[str] = set()
    errors: set[tuple[str, str]] = set()
    for f in doc["findings"]:
        ran.add(f["check_id"])
        if f["status"] == Status.ERROR.value:
            errors.add((f["check_id"], f["region"]))
    incomplete = not doc.get("complete", True)

    def reason(check_id: str, region: str) -> str:
        if incomplete:
            return "the new run is incomplete (interrupted): a missing finding proves nothing"
        if (check_id, region) in errors:
            return f"the check could not evaluate in {region} (ERROR) in the new run"
        if (check_id, GLOBAL_REGION) in errors:
            return "the check could not evaluate account-wide (ERROR, region global) in the new run"
        if check_id not in ran:
            return "the check produced no finding in the new run (it did not run)"
        return ""

    return reason


_ORDER = {kind: i for i, kind in enumerate(ChangeKind)}


def diff_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> ScanDiff:
    """The changes from ``old`` to ``new`` (two validated scan documents)."""
    old_checks, old_regions = _scope(old)
    new_checks, new_regions = _scope(new)
    checks, regions = old_checks & new_checks, old_regions & new_regions
    before, after = _by_key(old), _by_key(new)
    unevaluated = _unevaluated(new)
    changes: list[FindingChange] = []
    not_compared = 0
    for key in sorted(before.keys() | after.keys()):
        if key[0] not in checks or key[2] not in regions:
            not_compared += 1
            continue
        was, now = before.get(key), after.get(key)
        old_status = Status(was["status"]) if was else None
        new_status = Status(now["status"]) if now else None
        kind = _classify(old_status, new_status)
        if kind is None:
            continue
        reason = unevaluated(key[0], key[2]) if kind is ChangeKind.RESOLVED and now is None else ""
        if reason:
            kind = ChangeKind.NOT_EVALUATED
        shown = now or was
        assert shown is not None
        changes.append(
            FindingChange(kind, *key, old_status, new_status, shown["severity"], shown["message"], reason)
        )
    changes.sort(key=lambda c: (_ORDER[c.kind], c.key))
    old_controls = {c["id"]: ControlStatus(c["status"]) for c in old["controls"]}
    new_controls = {c["id"]: ControlStatus(c["status"]) for c in new["controls"]}
    controls = tuple(
        ControlChange(cid, old_controls[cid], new_controls[cid])
        for cid in sorted(old_controls.keys() & new_controls.keys())
        if old_controls[cid] is not new_controls[cid]
    )
    warnings: list[str] = []
    a, b = RunRef.of(old), RunRef.of(new)
    if a.account_id != b.account_id:
        warnings.append(f"the runs are of different accounts ({a.account_id} and {b.account_id})")
    if (a.started_at, a.scan_id) > (b.started_at, b.scan_id):
        warnings.append("OLD is more recent than NEW: the changes read backwards")
    if not old.get("complete", True) or not new.get("complete", True):
        warnings.append("an interrupted (incomplete) run is compared: missing findings are not counted as resolved")
    return ScanDiff(a, b, tuple(changes), controls, not_compared, tuple(warnings))


def triggered(diff: ScanDiff, kinds: Iterable[str]) -> list[str]:
    """Which ``--fail-on`` kinds the diff trips, with counts (empty: exit 0)."""
    hits: list[str] = []
    wanted = set(kinds)
    regressions = len(diff.of(ChangeKind.REGRESSION))
    if "regression" in wanted and (regressions or diff.control_regressions):
        hits.append(f"{regressions} finding regression(s), {len(diff.control_regressions)} control regression(s)")
    new_fails = regressions + len(diff.of(ChangeKind.NEW_FAIL))
    if "new-fail" in wanted and new_fails:
        hits.append(f"{new_fails} finding(s) newly FAIL")
    errors = len(diff.of(ChangeKind.NEWLY_ERROR))
    if "newly-error" in wanted and errors:
        hits.append(f"{errors} finding(s) newly ERROR")
    return hits


def summary_line(diff: ScanDiff) -> str:
    counts = {kind: len(diff.of(kind)) for kind in ChangeKind}
    text = (
        f"{counts[ChangeKind.REGRESSION]} regression(s), {counts[ChangeKind.NEW_FAIL]} new FAIL, "
        f"{counts[ChangeKind.RESOLVED]} resolved, {counts[ChangeKind.NEWLY_ERROR]} newly ERROR; "
        f"{len(diff.controls)} control(s) changed ({len(diff.control_regressions)} MET -> NOT_MET)"
    )
    if counts[ChangeKind.NOT_EVALUATED]:
        text += f"; {counts[ChangeKind.NOT_EVALUATED]} earlier FAIL(s) not evaluated in the new run (not resolved)"
    if diff.not_compared:
        text += f"; {diff.not_compared} finding(s) outside the common scope, not compared"
    return text


def format_diff(diff: ScanDiff) -> list[str]:
    """The ``govscan diff`` text."""
    lines = [
        f"{diff.new.label} ({diff.new.account_id}): {diff.old.scan_id} ({diff.old.started_at}) -> "
        f"{diff.new.scan_id} ({diff.new.started_at})"
    ]
    lines += [f"warning: {w}" for w in diff.warnings]
    for kind in ChangeKind:
        changes = diff.of(kind)
        if not changes:
            continue
        lines.append(f"{_HEADINGS[kind]}: {len(changes)}")
        for c in changes:
            was = c.old_status.value if c.old_status else "(absent)"
            now = c.new_status.value if c.new_status else "(not evaluated)" if c.reason else "(gone)"
            lines.append(f"  {c.check_id}  {c.region}  {c.resource_id}  {was} -> {now}  [{c.severity}]")
            lines.append(f"      {c.message}")
            if c.reason:
                lines.append(f"      not resolved: {c.reason}")
    if diff.controls:
        lines.append(f"CONTROLS: {len(diff.controls)}")
        for control in diff.controls:
            mark = "  (regression)" if control.regression else ""
            lines.append(f"  {control.control_id:<11} {control.old.value} -> {control.new.value}{mark}")
    lines.append("Summary: " + summary_line(diff))
    return lines


def diff_to_json(diff: ScanDiff) -> dict[str, Any]:
    def ref(r: RunRef) -> dict[str, str]:
        return {"scan_id": r.scan_id, "label": r.label, "account_id": r.account_id, "started_at": r.started_at}

    return {
        "old": ref(diff.old),
        "new": ref(diff.new),
        "changes": {
            kind.value: [
                {
                    "check_id": c.check_id,
                    "resource_id": c.resource_id,
                    "region": c.region,
                    "old_status": c.old_status.value if c.old_status else None,
                    "new_status": c.new_status.value if c.new_status else None,
                    "severity": c.severity,
                    "message": c.message,
                    **({"reason": c.reason} if c.reason else {}),
                }
                for c in diff.of(kind)
            ]
            for kind in ChangeKind
        },
        "controls": [
            {"id": c.control_id, "old": c.old.value, "new": c.new.value, "regression": c.regression}
            for c in diff.controls
        ],
        "not_compared": diff.not_compared,
        "warnings": list(diff.warnings),
    }


def resolve_run(
    ref: str, store: Store, label: str | None = None, *, relative_to: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A run named on the command line: a scan document file, a stored scan id (or a unique
    prefix), or ``latest`` / ``previous`` of an account. ``previous`` is the complete run before
    ``relative_to`` when that is a stored run, else the one before the latest."""
    if ref not in ("latest", "previous"):
        path = Path(ref)
        if path.suffix == ".json" or path.is_file():
            try:
                return load(path)
            except DocumentError as exc:
                raise HistoryError(str(exc)) from exc
        return store.document(ref)
    if label is None and relative_to is not None:
        label = relative_to["target"]["label"] or relative_to["target"]["account_id"]
    if label is None:
        labels = store.labels()
        if len(labels) != 1:
            known = ", ".join(labels) or "none yet"
            raise HistoryError(f"{ref!r} needs --account LABEL (accounts in the store: {known})")
        label = labels[0]
    latest = store.latest(label)
    if latest is None:
        raise HistoryError(f"no complete run of {label!r} in {store.path} (see `govscan history`)")
    if ref == "latest":
        return store.document(latest.scan_id)
    anchor = latest.scan_id
    if relative_to is not None and any(r.scan_id == relative_to["scan_id"] for r in store.runs(label)):
        anchor = relative_to["scan_id"]
    before = store.previous(anchor)
    if before is None:
        raise HistoryError(f"{label!r} has no complete run before {anchor}: nothing to compare with yet")
    return store.document(before.scan_id)
