"""CloudWatch: workload health metrics with alert thresholds someone receives, and application
logs kept for troubleshooting (OPE-001).

"Workload" is decided from what AWS itself publishes: AWS services put metrics for every
running resource into their namespace (``AWS/EC2`` for instances, ``AWS/Lambda`` for functions...)
without anyone asking, so ``ListMetrics`` with ``RecentlyActive=PT3H`` (metrics with data in the
last three hours) tells which kinds of workload run in a region.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html
The namespaces that count as workload are a setting (``workload_namespaces``); storage-only
and account namespaces (``AWS/S3`` daily storage, ``AWS/Billing``, ``AWS/Usage``) are left out of
the default on purpose: a billing alarm is cost hygiene, not a workload health alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext, error_evidence
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

WORKLOAD_NAMESPACES = (
    "AWS/EC2",
    "AWS/RDS",
    "AWS/ApplicationELB",
    "AWS/NetworkELB",
    "AWS/ELB",
    "AWS/Lambda",
    "AWS/ECS",
    "ECS/ContainerInsights",
    "ContainerInsights",
    "AWS/ApiGateway",
    "AWS/AppRunner",
    "AWS/DynamoDB",
    "AWS/ElastiCache",
    "AWS/EFS",
    "AWS/ES",
    "AWS/Kinesis",
    "AWS/SQS",
    "AWS/States",
)
# Alarms on these say nothing about a workload's health.
NON_WORKLOAD_NAMESPACES = frozenset({"AWS/Billing", "AWS/Usage", "AWS/TrustedAdvisor"})
# A composite alarm's rule names its children as ALARM(name), OK("name"), INSUFFICIENT_DATA(arn).
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
RULE_REFERENCE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*(\"?)([^\")]+)\1\s*\)")
PENDING_ARNS = frozenset({"PendingConfirmation", "pending confirmation", "Deleted"})
MAX_LISTED = 200


def workload_namespaces(ctx: CheckContext) -> set[str]:
    """Workload namespaces (setting ``workload_namespaces``) with metrics in the last 3 hours."""
    wanted = set(ctx.setting("workload_namespaces", WORKLOAD_NAMESPACES))
    metrics = ctx.read("cloudwatch", "ListMetrics", RecentlyActive="PT3H").get("Metrics", [])
    return {m["Namespace"] for m in metrics if m.get("Namespace") in wanted}


def alarm_namespaces(alarm: dict[str, Any]) -> set[str]:
    """The namespaces a metric alarm watches (one metric, or every metric of a math expression)."""
    if alarm.get("Namespace"):
        return {alarm["Namespace"]}
    return {
        q["MetricStat"]["Metric"]["Namespace"]
        for q in alarm.get("Metrics") or []
        if q.get("MetricStat", {}).get("Metric", {}).get("Namespace")
    }


def _alarm_name(reference: str) -> str:
    return reference.split(":alarm:", 1)[1] if reference.startswith("arn:") else reference


def _sns_topics(alarm: dict[str, Any]) -> list[str]:
    return [a for a in alarm.get("AlarmActions") or [] if a.startswith("arn:") and a.split(":")[2] == "sns"]


def topic_subscriptions(ctx: CheckContext, topic: str) -> dict[str, Any]:
    """Confirmed and pending subscriptions of ``topic``, asked in the topic's region.

    A subscription waiting for its e-mail or HTTP endpoint to confirm is listed with the
    SubscriptionArn ``PendingConfirmation`` and receives nothing.
    https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html
    """
    answer = ctx.read_optional(
        "sns", "ListSubscriptionsByTopic", absent=("NotFound",), region=topic.split(":")[3], TopicArn=topic
    )
    if answer is None:
        return {"topic": topic, "exists": False, "confirmed": [], "pending": 0}
    subscriptions = answer.get("Subscriptions", [])
    confirmed = [
        {"protocol": s.get("Protocol"), "subscription": s.get("SubscriptionArn")}
        for s in subscriptions
        if s.get("SubscriptionArn") not in PENDING_ARNS
    ]
    return {
        "topic": topic,
        "exists": True,
        "confirmed": confirmed,
        "pending": len(subscriptions) - len(confirmed),
    }


def _composite_parents(composites: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Alarm name -> names of the composite alarms whose rule references it."""
    parents: dict[str, list[str]] = {}
    for composite in composites:
        for _, reference in RULE_REFERENCE.findall(composite.get("AlarmRule", "")):
            parents.setdefault(_alarm_name(reference.strip()), []).append(composite["AlarmName"])
    return parents


def _notifies(
    name: str, own: dict[str, bool | None], parents: dict[str, list[str]], seen: set[str]
) -> bool | None:
    """True if the alarm (or a composite above it) notifies a confirmed subscriber; None if unknown."""
    if name in seen:
        return False
    seen.add(name)
    verdicts = [own.get(name, False), *(_notifies(p, own, parents, seen) for p in parents.get(name, []))]
    if any(v is True for v in verdicts):
        return True
    return None if any(v is None for v in verdicts) else False


@check(
    id="cloudwatch_alarms_actionable",
    title="Alarms on workload metrics notify a confirmed subscriber",
    severity=Severity.MEDIUM,
    criteria=("OPE-001.1", "OPE-001.3"),
    permissions=("cloudwatch:DescribeAlarms", "cloudwatch:ListMetrics", "sns:ListSubscriptionsByTopic"),
    scope=Scope.REGIONAL,
    remediation="For each workload component create CloudWatch alarms on its health metrics (CPU, errors, "
    "unhealthy hosts...) whose alarm action is an SNS topic with a confirmed subscription (on-call e-mail, "
    "chat, paging tool).",
)
def cloudwatch_alarms_actionable(ctx: CheckContext) -> Iterator[Finding]:
    """Metrics only help if a threshold on them wakes someone up. For every kind of workload that
    publishes metrics in the region, at least one alarm must watch its namespace, have actions
    enabled, and notify an SNS topic with a confirmed subscription (directly or through a
    composite alarm); a subscription still waiting for e-mail confirmation delivers nothing.
    Billing and usage alarms do not count as workload alarms. Actions other than SNS (Auto
    Scaling, EC2 recovery, Systems Manager) are listed but do not notify anyone."""
    present = workload_namespaces(ctx)
    answer = ctx.read("cloudwatch", "DescribeAlarms", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    metric_alarms: list[dict[str, Any]] = answer.get("MetricAlarms", [])
    composites: list[dict[str, Any]] = answer.get("CompositeAlarms", [])
    workload_alarms = [a for a in metric_alarms if alarm_namespaces(a) - NON_WORKLOAD_NAMESPACES]
    if not present and not workload_alarms:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message=f"No workload publishes metrics in {ctx.region} and no alarm watches one.",
            evidence={
                "workload_namespaces_present": [],
                "other_alarms": [a["AlarmName"] for a in metric_alarms],
            },
        )
        return
    topics: dict[str, dict[str, Any]] = {}
    failures: list[CallFailed] = []
    for alarm in [*metric_alarms, *composites]:
        for topic in _sns_topics(alarm):
            if topic in topics:
                continue
            try:
                topics[topic] = topic_subscriptions(ctx, topic)
            except CallFailed as failure:
                failures.append(failure)
                topics[topic] = {"topic": topic, "error": error_evidence(failure)}
    own: dict[str, bool | None] = {}
    for alarm in [*metric_alarms, *composites]:
        states = [topics[t] for t in _sns_topics(alarm)]
        if not alarm.get("ActionsEnabled", True) or any(s.get("confirmed") for s in states):
            own[alarm["AlarmName"]] = bool(alarm.get("ActionsEnabled", True))
        else:
            own[alarm["AlarmName"]] = None if any("error" in s for s in states) else False
    parents = _composite_parents(composites)
    evaluated = [_describe(a, own, parents, topics) for a in workload_alarms]
    covered: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for entry in evaluated:
        for namespace in entry["namespaces"]:
            if entry["notifies"] is True:
                covered.setdefault(namespace, []).append(entry["alarm"])
            elif entry["notifies"] is None:
                unknown.add(namespace)
    uncovered = sorted(present - set(covered))
    evidence: dict[str, Any] = {
        "workload_namespaces_present": sorted(present),
        "covered": covered,
        "uncovered": uncovered,
        "alarms": evaluated[:MAX_LISTED],
        "alarms_total": len(evaluated),
        "topics": list(topics.values()),
    }
    if covered and not uncovered:
        names = ", ".join(f"{ns} ({len(a)})" for ns, a in sorted(covered.items()))
        yield ctx.finding(
            Status.PASS, message=f"Alarms notify confirmed subscribers for {names}.", evidence=evidence
        )
        return
    if failures and (set(uncovered) & unknown or (not present and not covered)):
        yield ctx.error(failures[0])
        return
    if not uncovered:
        message = f"None of the {len(evaluated)} workload alarm(s) notifies a confirmed subscriber."
    else:
        message = "No alarm notifying a confirmed subscriber watches " + ", ".join(uncovered) + "."
    problems = [f"{e['alarm']}: {e['reason']}" for e in evaluated if e["notifies"] is not True]
    if problems:
        message += " " + "; ".join(problems[:10]) + ("." if len(problems) <= 10 else "; ...")
    yield ctx.finding(Status.FAIL, message=message, evidence=evidence)


def _describe(
    alarm: dict[str, Any],
    own: dict[str, bool | None],
    parents: dict[str, list[str]],
    topics: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    name = alarm["AlarmName"]
    notifies = _notifies(name, own, parents, set())
    sns = _sns_topics(alarm)
    if notifies is True:
        reason = "notifies a confirmed subscriber"
    elif not alarm.get("ActionsEnabled", True):
        reason = "actions are disabled"
    elif not sns:
        reason = "no SNS alarm action"
    elif all(not topics[t].get("exists", True) for t in sns):
        reason = "its SNS topic does not exist"
    elif notifies is None:
        reason = "its SNS topic's subscriptions could not be read"
    else:
        reason = "its SNS topic has no confirmed subscription"
    return {
        "alarm": name,
        "arn": alarm.get("AlarmArn"),
        "namespaces": sorted(alarm_namespaces(alarm)),
        "metric": alarm.get("MetricName"),
        "threshold": alarm.get("Threshold"),
        "comparison": alarm.get("ComparisonOperator"),
        "actions_enabled": alarm.get("ActionsEnabled", True),
        "sns_topics": sns,
        "other_actions": [a for a in alarm.get("AlarmActions") or [] if a not in sns],
        "composite_parents": parents.get(name, []),
        "notifies": notifies,
        "reason": reason,
    }


# Log groups AWS services write audit or network records into: kept with a retention verdict,
# but they are not the application logs OPE-001.2 asks for. Setting: infrastructure_log_group_prefixes.
INFRASTRUCTURE_LOG_PREFIXES = (
    "aws-cloudtrail-logs",
    "CloudTrail/",
    "/aws/cloudtrail",
    "/aws/vpc",
    "vpc-flow-logs",
    "/aws/route53",
    "aws-waf-logs",
    "RDSOSMetrics",
    "/aws/events",
)


@check(
    id="cloudwatch_log_retention",
    title="Application log groups exist and have a retention period",
    severity=Severity.LOW,
    criteria=("OPE-001.2",),
    permissions=("logs:DescribeLogGroups", "cloudwatch:ListMetrics"),
    scope=Scope.REGIONAL,
    remediation="Send application logs to CloudWatch Logs (CloudWatch agent, awslogs driver, Lambda) and set "
    "a retention period on every log group: aws logs put-retention-policy --log-group-name NAME "
    "--retention-in-days 30.",
)
def cloudwatch_log_retention(ctx: CheckContext) -> Iterator[Finding]:
    """Errors can only be investigated if the application's logs were exported somewhere they
    survive the instance or container. A log group without retention keeps everything forever
    (``Never expire``): nobody decided how long logs are needed, and storage grows without bound.
    One finding per log group (retention set or not); when workloads publish metrics in the
    region but no application log group exists, a region finding says application logs are
    not exported. Log groups of CloudTrail, flow logs and similar services get a retention
    verdict but do not count as application logs.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html"""
    prefixes = tuple(ctx.setting("infrastructure_log_group_prefixes", INFRASTRUCTURE_LOG_PREFIXES))
    groups: list[dict[str, Any]] = ctx.read("logs", "DescribeLogGroups").get("logGroups", [])
    applications = 0
    for group in groups:
        name = group["logGroupName"]
        kind = "infrastructure" if name.startswith(prefixes) else "application"
        applications += kind == "application"
        retention = group.get("retentionInDays")  # absent means "Never expire"
        evidence = {
            "log_group": name,
            "kind": kind,
            "retention_in_days": retention,
            "log_group_class": group.get("logGroupClass", "STANDARD"),
            "stored_bytes": group.get("storedBytes"),
        }
        # logGroupArn has no trailing ":*" (the "arn" member does): a stable resource id.
        arn = group.get("logGroupArn") or ctx.arn("logs", f"log-group:{name}")
        if retention:
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type="AWS::Logs::LogGroup",
                message=f"Log group {name} keeps events for {retention} days.",
                evidence=evidence,
            )
        else:
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type="AWS::Logs::LogGroup",
                message=f"Log group {name} has no retention period (never expires).",
                evidence=evidence,
            )
    if applications:
        return
    present = workload_namespaces(ctx)
    if present:
        yield ctx.finding(
            Status.FAIL,
            message=f"Workloads publish metrics in {ctx.region} ({', '.join(sorted(present))}) but no "
            "application log group exists: application logs are not exported to CloudWatch Logs.",
            evidence={
                "workload_namespaces_present": sorted(present),
                "log_groups": [g["logGroupName"] for g in groups],
            },
        )
    elif not groups:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message=f"No log group and no workload metrics in {ctx.region}.",
            evidence={"workload_namespaces_present": [], "log_groups": []},
        )
