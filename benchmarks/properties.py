"""The benchmark's assertions, as pure functions over the recorded calls of a scan.

A call record is the dict ``benchmarks.scan_once`` prints: ``action`` ("ec2:DescribeVolumes"),
``region``, ``params``, ``pages``, ``checks`` (the checks whose findings cite it). Paginated
pages are one record: the gateway merges them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

# Operations that are asked again on purpose: GenerateCredentialReport answers STARTED until
# the report is ready, and each poll is its own (cached, recorded) call. See checks/iam.py.
POLLED = frozenset({"iam:GenerateCredentialReport"})

Call = Mapping[str, Any]


@dataclass(frozen=True)
class Violation:
    """One read made more than once in a scan: what, where, how often, and by which checks."""

    action: str
    region: str
    count: int
    uses: tuple[tuple[str, tuple[str, ...]], ...]  # (parameters as canonical JSON, the checks that used them)

    @property
    def checks(self) -> tuple[str, ...]:
        return tuple(sorted({check for _, checks in self.uses for check in checks}))

    def describe(self) -> str:
        uses = "; ".join(f"{params} by {', '.join(checks) or 'the runner'}" for params, checks in self.uses)
        return f"{self.action} in {self.region}: {self.count} calls: {uses}"


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))


@cache
def is_list_api(action: str) -> bool:
    """A list/describe API: an operation that can be called with no parameter at all.

    Judged from the botocore service model (no required input member), so it covers every
    service a new check may read without a hand-kept list.
    """
    service, _, operation = action.partition(":")
    model = _service_model(service)
    shape = model.operation_model(operation).input_shape
    return shape is None or not shape.required_members


@cache
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def _group(calls: Iterable[Call], key: Any) -> dict[Any, list[Call]]:
    groups: dict[Any, list[Call]] = defaultdict(list)
    for call in calls:
        groups[key(call)].append(call)
    return groups


def _violation(action: str, region: str, group: Sequence[Call]) -> Violation:
    uses: dict[str, set[str]] = defaultdict(set)
    for call in group:
        uses[_canonical(call.get("params", {}))].update(call.get("checks", ()))
    return Violation(
        action=action,
        region=region,
        count=len(group),
        uses=tuple((params, tuple(sorted(checks))) for params, checks in sorted(uses.items())),
    )


def repeated_reads(calls: Iterable[Call]) -> list[Violation]:
    """Reads recorded more than once with the same action, region and parameters.

    The gateway's per-scan cache should make this impossible; two records mean the cache
    was bypassed (e.g. the same read with different ``absent=`` codes).
    """
    groups = _group(
        (c for c in calls if c["action"] not in POLLED), lambda c: (c["action"], c["region"], _canonical(c["params"]))
    )
    return [_violation(a, r, g) for (a, r, _), g in sorted(groups.items()) if len(g) > 1]


def repeated_list_apis(calls: Iterable[Call]) -> list[Violation]:
    """List/describe APIs called more than once in one region, whatever the parameters.

    Ten checks that need the security groups must share one ``DescribeSecurityGroups``; a
    check that asks with its own filter (or ``includeShadowTrails`` the other way round)
    costs a second call and may see a different answer than its neighbours.
    """
    groups = _group(
        (c for c in calls if c["action"] not in POLLED and is_list_api(c["action"])),
        lambda c: (c["action"], c["region"]),
    )
    return [_violation(a, r, g) for (a, r), g in sorted(groups.items()) if len(g) > 1]


def per_resource_calls(calls: Iterable[Call]) -> dict[str, int]:
    """Calls of operations that need a parameter (a bucket, a key, a table): they scale with resources."""
    counts: dict[str, int] = defaultdict(int)
    for call in calls:
        if call["action"] not in POLLED and not is_list_api(call["action"]):
            counts[call["action"]] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def callers(calls: Iterable[Call], action: str) -> tuple[str, ...]:
    return tuple(sorted({check for c in calls if c["action"] == action for check in c.get("checks", ())}))


@dataclass(frozen=True)
class Linearity:
    ok: bool
    detail: str


def marginal_costs(resources: Sequence[int], costs: Sequence[float]) -> list[float]:
    """Cost of each added resource between consecutive sizes (the slope of cost vs. size)."""
    return [(costs[i] - costs[i - 1]) / (resources[i] - resources[i - 1]) for i in range(1, len(resources))]


def calls_linear(
    resources: Sequence[int], calls: Sequence[int], tolerance: float = 0.25, *, noun: str = "calls"
) -> Linearity:
    """Calls grow linearly: an affine function of size (fixed list calls + a constant cost per resource).

    Raw calls per resource falls with size (the fixed per-region list calls are shared by
    more resources), so linearity is judged on the marginal cost: every step's calls per
    added resource within ``tolerance`` of the first step's, and calls per resource never
    above the smallest size's by more than ``tolerance``.
    """
    if len(resources) < 2:
        return Linearity(True, "one size only: nothing to compare")
    slopes = marginal_costs(resources, calls)
    per_resource = [c / r for c, r in zip(calls, resources, strict=True)]
    # An absolute allowance of 0.01 call per resource keeps a near-zero slope (everything
    # paged) from failing on one extra page.
    slopes_ok = all(abs(s - slopes[0]) <= tolerance * slopes[0] + 0.01 for s in slopes)
    per_resource_ok = all(p <= per_resource[0] * (1 + tolerance) for p in per_resource)
    detail = (
        f"marginal {noun} per added resource {', '.join(f'{s:.3f}' for s in slopes)} "
        f"(within ±{tolerance:.0%} of the first step); {noun} per resource "
        f"{', '.join(f'{p:.3f}' for p in per_resource)} (none above the smallest size's +{tolerance:.0%})"
    )
    return Linearity(slopes_ok and per_resource_ok, detail)


def time_not_superlinear(resources: Sequence[int], seconds: Sequence[float], tolerance: float = 0.35) -> Linearity:
    """Scan time grows no faster than the account: from one size to the next, the time ratio
    stays below the resource ratio (+``tolerance`` for timing noise on a shared machine)."""
    if len(resources) < 2:
        return Linearity(True, "one size only: nothing to compare")
    steps = []
    ok = True
    for i in range(1, len(resources)):
        size_ratio = resources[i] / resources[i - 1]
        time_ratio = seconds[i] / seconds[i - 1]
        ok = ok and time_ratio <= size_ratio * (1 + tolerance)
        steps.append(f"x{size_ratio:.1f} resources -> x{time_ratio:.2f} time")
    return Linearity(ok, f"{'; '.join(steps)} (allowed: the resource ratio +{tolerance:.0%})")


def slowest_checks(calls: Iterable[Call], top: int = 3) -> list[tuple[str, float, int]]:
    """Checks by the summed duration of the calls they cite, longest first: ``(check id, seconds, calls)``.

    A check makes its calls one after another (a call another check already made is awaited,
    not repeated), so this is about the least time its task takes: with latency, the longest
    one bounds the scan's wall time however many workers there are.
    """
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for call in calls:
        for check in call.get("checks", ()):
            spent[check][0] += int(call.get("duration_ms") or 0) / 1000
            spent[check][1] += 1
    ranked = sorted(spent.items(), key=lambda item: -item[1][0])[:top]
    return [(check, seconds, int(count)) for check, (seconds, count) in ranked]
