"""Cost: ongoing cost tracking against the cost model given to the customer (COST-001.2).

AWS Budgets and Cost Anomaly Detection are account-wide services served from one region of
the partition (us-east-1 in the commercial partition), whatever region the scan starts in:
https://docs.aws.amazon.com/general/latest/gr/billing.html. They show that spending is
tracked after go-live; the estimate or cost model itself stays manual evidence (the catalog
says so), which is why a PASS here never replaces the Pricing Calculator estimate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext, error_evidence
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

# Where the billing APIs answer in each partition.
BILLING_REGION = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}


def billing_region(ctx: CheckContext) -> str:
    return BILLING_REGION.get(ctx.partition, "us-east-1")


def budget_arn(ctx: CheckContext, name: str) -> str:
    return ctx.arn("budgets", f"budget/{name}", region="")


def _notification(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": entry.get("NotificationType"),
        "comparison": entry.get("ComparisonOperator"),
        "threshold": entry.get("Threshold"),
        "threshold_type": entry.get("ThresholdType", "PERCENTAGE"),
        "state": entry.get("NotificationState"),
    }


@check(
    id="cost_budgets_configured",
    title="At least one AWS Budget notifies someone",
    severity=Severity.MEDIUM,
    criteria=("COST-001.2",),
    permissions=("budgets:ViewBudget",),
    scope=Scope.GLOBAL,
    remediation="Create a cost budget from the agreed cost model with ACTUAL and FORECASTED notifications "
    "(Billing and Cost Management > Budgets, or aws budgets create-budget).",
)
def cost_budgets_configured(ctx: CheckContext) -> Iterator[Finding]:
    """A cost model given before implementation is only useful if actual spending is compared with
    it afterwards. A budget with a notification is the account's own, machine-readable record
    that someone is told when spending departs from the estimate. A budget without any
    notification tracks nothing anybody sees, so it does not count. Every notification has at
    least one subscriber (the Budgets API requires one), so subscribers are not read."""
    region = billing_region(ctx)
    # NotFoundException: AWS has answered "no budgets" with it for accounts that never had one.
    # https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudgets.html
    listing = ctx.read_optional(
        "budgets", "DescribeBudgets", absent=("NotFoundException",), region=region, AccountId=ctx.account_id
    )
    budgets: list[dict[str, Any]] = (listing or {}).get("Budgets", [])
    evaluated: list[dict[str, Any]] = []
    failures: list[CallFailed] = []
    for budget in budgets:
        name = budget["BudgetName"]
        entry: dict[str, Any] = {
            "budget": name,
            "arn": budget_arn(ctx, name),
            "type": budget.get("BudgetType"),
            "time_unit": budget.get("TimeUnit"),
            "limit": budget.get("BudgetLimit"),
        }
        try:
            # NotFoundException: the budget was deleted between the two calls.
            answer = ctx.read_optional(
                "budgets",
                "DescribeNotificationsForBudget",
                absent=("NotFoundException",),
                region=region,
                AccountId=ctx.account_id,
                BudgetName=name,
            )
        except CallFailed as failure:
            failures.append(failure)
            entry["notifications_error"] = error_evidence(failure)
        else:
            entry["notifications"] = [_notification(n) for n in (answer or {}).get("Notifications", [])]
        evaluated.append(entry)
    with_notifications = [b for b in evaluated if b.get("notifications")]
    evidence: dict[str, Any] = {"billing_region": region, "budgets": evaluated}
    if with_notifications:
        names = ", ".join(b["budget"] for b in with_notifications)
        yield ctx.finding(
            Status.PASS,
            message=f"{len(with_notifications)} of {len(evaluated)} budget(s) notify on spending: {names}.",
            evidence=evidence,
        )
        return
    if failures:
        # Some budgets could not be read: one of them might have had a notification.
        yield ctx.error(failures[0])
        return
    if not evaluated:
        message = "No AWS Budget exists in the account."
    else:
        message = (
            f"None of the {len(evaluated)} budget(s) has a notification: "
            + ", ".join(b["budget"] for b in evaluated)
            + "."
        )
    yield ctx.finding(Status.FAIL, message=message, evidence=evidence)


def _monitor(monitor: dict[str, Any]) -> dict[str, Any]:
    return {
        "arn": monitor.get("MonitorArn"),
        "name": monitor.get("MonitorName"),
        "type": monitor.get("MonitorType"),
        "dimension": monitor.get("MonitorDimension"),
        "last_evaluated": monitor.get("LastEvaluatedDate"),
    }


def _subscription(subscription: dict[str, Any]) -> dict[str, Any]:
    # Subscriber addresses are left out: types and statuses show that someone is alerted.
    return {
        "arn": subscription.get("SubscriptionArn"),
        "name": subscription.get("SubscriptionName"),
        "frequency": subscription.get("Frequency"),
        "monitors": subscription.get("MonitorArnList", []),
        "subscribers": [
            {"type": s.get("Type"), "status": s.get("Status")} for s in subscription.get("Subscribers", [])
        ],
        "threshold_expression": subscription.get("ThresholdExpression"),
    }


@check(
    id="cost_anomaly_monitoring",
    title="A Cost Anomaly Detection monitor watches spending",
    severity=Severity.LOW,
    criteria=("COST-001.2",),
    permissions=("ce:GetAnomalyMonitors", "ce:GetAnomalySubscriptions"),
    scope=Scope.GLOBAL,
    remediation="Create a Cost Anomaly Detection monitor (e.g. an AWS services monitor) and an alert "
    "subscription (Billing and Cost Management > Cost Anomaly Detection).",
)
def cost_anomaly_monitoring(ctx: CheckContext) -> Iterator[Finding]:
    """Budgets catch spending that crosses a line; anomaly detection catches a sudden change in
    a service's spending long before the month's budget is reached (a leaked key mining crypto,
    a runaway loop). A monitor existing is the verdict; its alert subscriptions are evidence,
    and a monitor nobody subscribes to is said so in the message. New accounts may have a
    default AWS services monitor that AWS created for them; it counts, as it does watch spend.
    https://docs.aws.amazon.com/cost-management/latest/userguide/manage-ad.html"""
    region = billing_region(ctx)
    monitors = [
        _monitor(m) for m in ctx.read("ce", "GetAnomalyMonitors", region=region).get("AnomalyMonitors", [])
    ]
    evidence: dict[str, Any] = {"billing_region": region, "monitors": monitors}
    if not monitors:
        yield ctx.finding(Status.FAIL, message="No Cost Anomaly Detection monitor exists.", evidence=evidence)
        return
    try:
        answer = ctx.read("ce", "GetAnomalySubscriptions", region=region)
    except CallFailed as failure:
        # The verdict rests on the monitors; the subscriptions only add detail.
        evidence["subscriptions_error"] = error_evidence(failure)
        note = f" Alert subscriptions could not be read ({failure.error_code})."
    else:
        subscriptions = [_subscription(s) for s in answer.get("AnomalySubscriptions", [])]
        evidence["subscriptions"] = subscriptions
        note = (
            f" {len(subscriptions)} alert subscription(s)."
            if subscriptions
            else " No alert subscription: anomalies are detected but nobody is notified."
        )
    names = ", ".join(str(m["name"]) for m in monitors)
    yield ctx.finding(
        Status.PASS, message=f"{len(monitors)} anomaly monitor(s): {names}.{note}", evidence=evidence
    )
