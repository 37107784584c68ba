"""What a check sees: ``ctx.read`` for AWS, ``ctx.finding`` to report, and the scan's settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from scanner.gateway import CallFailed, Gateway
from scanner.models import GLOBAL_REGION, CheckSpec, Finding, Scope, Severity, Status
from scanner.permissions import iam_action
from scanner.settings import INT, NUMBER, SETTINGS

T = TypeVar("T")


class CheckContext:
    """One check evaluated for one account in one region (or once, globally).

    ``ctx.read`` and ``ctx.read_optional`` remember the calls they used; a finding cites them
    unless the check names its own ``calls``.
    """

    def __init__(
        self,
        spec: CheckSpec,
        gateway: Gateway,
        *,
        account_id: str,
        partition: str,
        region: str,
        home_region: str,
        regions: tuple[str, ...],
        settings: Mapping[str, Any],
        now: datetime | None = None,
    ) -> None:
        self.spec = spec
        self.gateway = gateway
        self.account_id = account_id
        self.partition = partition
        self.region = region  # where calls go by default (the home region for global checks)
        self.home_region = home_region
        self.regions = regions  # every region of this scan
        self.settings = settings
        self.now = now or datetime.now(UTC)
        self.touched: list[str] = []

    @property
    def params(self) -> Mapping[str, Any]:
        return self.spec.params

    @property
    def finding_region(self) -> str:
        return GLOBAL_REGION if self.spec.scope is Scope.GLOBAL else self.region

    def setting(self, name: str, default: Any) -> Any:
        """A scan setting (CLI option or accounts file), e.g. ``root_unused_days``.

        Only settings declared in :mod:`scanner.settings` exist (validated there before the
        scan); a number default must be the documented one.
        """
        declared = SETTINGS.get(name)
        if declared is None:
            raise LookupError(f"check {self.spec.id} reads {name!r}, which scanner.settings does not declare")
        if declared.kind in (INT, NUMBER) and default != declared.default:
            raise LookupError(f"check {self.spec.id} defaults {name} to {default!r}; scanner.settings says "
                              f"{declared.default!r}")
        value = self.settings.get(name)
        return default if value is None else value

    def read(
        self, service: str, operation: str, *, region: str | None = None, poll: int = 0, **params: Any
    ) -> dict[str, Any]:
        """One read (paginated and merged). Raises :class:`CallFailed` unless it succeeded."""
        call, response = self.gateway.read(service, operation, region or self.region, params, poll=poll)
        self._touch(call.id)
        assert response is not None
        return response

    def read_optional(
        self,
        service: str,
        operation: str,
        *,
        absent: Iterable[str],
        region: str | None = None,
        **params: Any,
    ) -> dict[str, Any] | None:
        """Like :meth:`read`, but the error codes in ``absent`` mean "not configured": ``None``."""
        call, response = self.gateway.read(service, operation, region or self.region, params, absent=absent)
        self._touch(call.id)
        return response

    def _touch(self, call_id: str) -> None:
        if call_id not in self.touched:
            self.touched.append(call_id)

    def each(
        self,
        items: Iterable[T],
        evaluate: Callable[[CheckContext, T], Iterable[Finding]],
        *,
        workers: int = 4,
    ) -> Iterator[Finding]:
        """Evaluate ``items`` (buckets, keys, tables...) concurrently, each in a child context.

        Per-resource reads (``GetBucketEncryption`` per bucket) have no batch form in AWS; with
        real latency, reading them one after another dominated a scan. Each item's findings cite
        the calls the check made before ``each`` (the shared listing) plus that item's own calls,
        not every other item's. Findings come back in the order of ``items``. ``evaluate`` handles
        its own per-item ``CallFailed`` (``child.error(...)``); anything else propagates.
        """
        pending = list(items)
        if not pending:
            return
        shared = list(self.touched)

        def run(item: T) -> tuple[list[Finding], list[str]]:
            child = self._child(shared)
            return list(evaluate(child, item)), child.touched

        with ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(pending))), thread_name_prefix="govscan-each"
        ) as pool:
            for findings, touched in pool.map(run, pending):
                for call_id in touched:
                    self._touch(call_id)
                yield from findings

    def _child(self, touched: list[str]) -> CheckContext:
        child = CheckContext(
            self.spec,
            self.gateway,
            account_id=self.account_id,
            partition=self.partition,
            region=self.region,
            home_region=self.home_region,
            regions=self.regions,
            settings=self.settings,
            now=self.now,
        )
        child.touched = list(touched)
        return child

    def arn(self, service: str, resource: str, *, region: str | None = None, account: bool = True) -> str:
        reg = "" if region == "" else (region or self.region)
        acct = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{reg}:{acct}:{resource}"

    @property
    def account_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def finding(
        self,
        status: Status,
        *,
        resource_id: str | None = None,
        resource_type: str = "AWS::::Account",
        message: str,
        evidence: Mapping[str, Any] | None = None,
        region: str | None = None,
        calls: Iterable[str] | None = None,
        remediation: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """Build the one immutable finding. ``resource_id`` defaults to the account id;
        ``severity`` to the check's (lower it for a finding that is a gap in evidence, not a risk)."""
        if remediation is None:
            remediation = self.spec.remediation if status is Status.FAIL else ""
        return Finding(
            check_id=self.spec.id,
            status=status,
            severity=severity or self.spec.severity,
            criteria=self.spec.criteria,
            region=region or self.finding_region,
            resource_id=resource_id or self.account_id,
            resource_type=resource_type,
            message=message,
            evidence=dict(evidence or {}),
            calls=tuple(calls) if calls is not None else tuple(self.touched),
            remediation=remediation,
        )

    def error(
        self,
        failure: CallFailed,
        *,
        resource_id: str | None = None,
        resource_type: str = "AWS::::Account",
        region: str | None = None,
    ) -> Finding:
        """An ERROR finding for one resource whose evaluation needed a call that failed.

        Checks that loop over resources use this so one denied per-resource call does not
        lose the verdicts of the others.
        """
        return self.finding(
            Status.ERROR,
            resource_id=resource_id,
            resource_type=resource_type,
            region=region,
            message=error_message(failure),
            evidence=error_evidence(failure),
            calls=(*self.touched, failure.call.id) if failure.call.id not in self.touched else self.touched,
        )


def error_message(failure: CallFailed) -> str:
    call = failure.call
    service, _, operation = call.action.partition(":")
    return (
        f"Could not evaluate: {call.action} in {call.region} was {call.outcome.value}"
        f" ({failure.error_code}). Grant the scan role {iam_action(service, operation)}"
        " (govscan role-template has every permission the checks need)."
        if call.outcome.value == "denied"
        else f"Could not evaluate: {call.action} in {call.region} {call.outcome.value} ({failure.error_code})."
    )


def error_evidence(failure: CallFailed) -> dict[str, Any]:
    call = failure.call
    return {
        "failed_call": call.id,
        "action": call.action,
        "region": call.region,
        "outcome": call.outcome.value,
        "error_code": failure.error_code,
        "error_message": call.error_message or "",
    }
