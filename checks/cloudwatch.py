"""CloudWatch: workload health metrics with alert thresholds someone receives, and application
logs kept for troubleshooting (OPE-001).

Alarm coverage is judged per workload resource: each running EC2 instance, RDS DB instance or
cluster, load balancer, Lambda function, DynamoDB table and EFS file system of the region needs
an alarm of its own, recognised by the dimension that names the resource in the metrics AWS
publishes for it (``InstanceId``, ``DBInstanceIdentifier``, ``LoadBalancer``...).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/aws-services-cloudwatch-metrics.html
The resources are read with the same unfiltered listings as the checks of their own modules,
so the gateway's cache serves them once per scan.

The setting ``workload_namespaces`` names the kinds of workload that count (a list, or a
comma-separated string): a kind listed above is evaluated when its namespace (``AWS/EC2``,
``AWS/RDS``, ``AWS/ApplicationELB``, ``AWS/NetworkELB``, ``AWS/GatewayELB``, ``AWS/ELB``,
``AWS/Lambda``, ``AWS/DynamoDB``, ``AWS/EFS``) is in it. The other namespaces of the setting
(``AWS/ECS``, ``AWS/SQS``, ``AWS/ApiGateway``...) have no resource listing here; they are judged
as a whole, from what AWS itself publishes: AWS services put metrics for every running resource
into their namespace without anyone asking, so ``ListMetrics`` with ``RecentlyActive=PT3H``
(metrics with data in the last three hours) tells which of them run in a region, and one alarm
on a metric of such a namespace covers it.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html
Storage-only and account namespaces (``AWS/S3`` daily storage, ``AWS/Billing``, ``AWS/Usage``)
are left out of the default on purpose: a billing alarm is cost hygiene, not a workload health
alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from checks._instances import running_instances
from checks.autoscaling import groups as auto_scaling_groups
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
# Namespaces whose resources are listed and judged one by one (the others: per namespace).
ELBV2_NAMESPACES = {"application": "AWS/ApplicationELB", "network": "AWS/NetworkELB", "gateway": "AWS/GatewayELB"}
RESOURCE_NAMESPACES = frozenset(
    {"AWS/EC2", "AWS/RDS", *ELBV2_NAMESPACES.values(), "AWS/ELB", "AWS/Lambda", "AWS/DynamoDB", "AWS/EFS"}
)
# A composite alarm's rule names its children as ALARM(name), OK("name"), INSUFFICIENT_DATA(arn).
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
RULE_REFERENCE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*(\"?)([^\")]+)\1\s*\)")
PENDING_ARNS = frozenset({"PendingConfirmation", "pending confirmation", "Deleted"})
MAX_LISTED = 200
MAX_NAMED = 10  # resources or alarms named in a message; the evidence lists them all (up to MAX_LISTED)

Dimension = tuple[str, str]


@dataclass(frozen=True)
class Resource:
    """A workload resource and the metric dimensions whose alarms count as alarms on it."""

    resource_type: str
    resource_id: str  # ARN
    label: str  # "EC2 instance i-0abc", for messages and evidence
    namespace: str
    dimensions: tuple[Dimension, ...]


def wanted_namespaces(ctx: CheckContext) -> set[str]:
    """The setting ``workload_namespaces``: a list, or one comma-separated string (``--set``)."""
    value = ctx.setting("workload_namespaces", WORKLOAD_NAMESPACES)
    parts = value.split(",") if isinstance(value, str) else value
    return {str(part).strip() for part in parts if str(part).strip()}


def workload_namespaces(ctx: CheckContext) -> set[str]:
    """Workload namespaces (setting ``workload_namespaces``) with metrics in the last 3 hours."""
    wanted = wanted_namespaces(ctx)
    metrics = ctx.read("cloudwatch", "ListMetrics", RecentlyActive="PT3H").get("Metrics", [])
    return {m["Namespace"] for m in metrics if m.get("Namespace") in wanted}


def _instances(ctx: CheckContext) -> list[Resource]:
    """Running EC2 instances. An instance in an Auto Scaling group is also watched by an alarm on
    its group (``AutoScalingGroupName``): its instances come and go, the group's alarms stay."""
    running = running_instances(ctx)
    if not running:
        return []
    member_of = {
        instance["InstanceId"]: group["AutoScalingGroupName"]
        for group in auto_scaling_groups(ctx)
        for instance in group.get("Instances", [])
    }
    found = []
    for instance in running:
        instance_id = instance["InstanceId"]
        dimensions: tuple[Dimension, ...] = (("InstanceId", instance_id),)
        label = f"EC2 instance {instance_id}"
        if instance_id in member_of:
            dimensions += (("AutoScalingGroupName", member_of[instance_id]),)
            label += f" (Auto Scaling group {member_of[instance_id]})"
        found.append(Resource("AWS::EC2::Instance", ctx.arn("ec2", f"instance/{instance_id}"), label,
                              "AWS/EC2", dimensions))
    return found


def _databases(ctx: CheckContext) -> list[Resource]:
    """DB clusters (watched through their own dimension or any member's) and standalone DB instances."""
    instances: list[dict[str, Any]] = ctx.read("rds", "DescribeDBInstances").get("DBInstances", [])
    clusters: list[dict[str, Any]] = ctx.read("rds", "DescribeDBClusters").get("DBClusters", [])
    found = []
    for cluster in clusters:
        identifier = cluster["DBClusterIdentifier"]
        members = [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])]
        found.append(Resource(
            "AWS::RDS::DBCluster", cluster.get("DBClusterArn") or ctx.arn("rds", f"cluster:{identifier}"),
            f"RDS DB cluster {identifier}", "AWS/RDS",
            (("DBClusterIdentifier", identifier), *(("DBInstanceIdentifier", m) for m in members)),
        ))
    in_cluster = {c["DBClusterIdentifier"] for c in clusters}
    for instance in instances:
        if instance.get("DBClusterIdentifier") in in_cluster:
            continue
        identifier = instance["DBInstanceIdentifier"]
        found.append(Resource(
            "AWS::RDS::DBInstance", instance.get("DBInstanceArn") or ctx.arn("rds", f"db:{identifier}"),
            f"RDS DB instance {identifier}", "AWS/RDS", (("DBInstanceIdentifier", identifier),),
        ))
    return found


def _load_balancers(ctx: CheckContext, wanted: set[str]) -> list[Resource]:
    """elbv2 load balancers (``LoadBalancer`` dimension: the ARN's ``app/name/id`` tail) and Classic
    ones (``LoadBalancerName``)."""
    found = []
    if wanted & set(ELBV2_NAMESPACES.values()):
        for lb in ctx.read("elbv2", "DescribeLoadBalancers").get("LoadBalancers", []):
            kind = lb.get("Type", "application")
            namespace = ELBV2_NAMESPACES.get(kind, "AWS/ApplicationELB")
            if namespace in wanted:
                arn = lb["LoadBalancerArn"]
                found.append(Resource(
                    "AWS::ElasticLoadBalancingV2::LoadBalancer", arn,
                    f"{kind.capitalize()} load balancer {lb['LoadBalancerName']}", namespace,
                    (("LoadBalancer", arn.split(":loadbalancer/", 1)[1]),),
                ))
    if "AWS/ELB" in wanted:
        for lb in ctx.read("elb", "DescribeLoadBalancers").get("LoadBalancerDescriptions", []):
            name = lb["LoadBalancerName"]
            found.append(Resource(
                "AWS::ElasticLoadBalancing::LoadBalancer", ctx.arn("elasticloadbalancing", f"loadbalancer/{name}"),
                f"Classic load balancer {name}", "AWS/ELB", (("LoadBalancerName", name),),
            ))
    return found


def workload_resources(ctx: CheckContext, wanted: set[str]) -> list[Resource]:
    """The region's resources of the kinds whose namespace is in ``wanted``; a kind left out of the
    setting is not even listed."""
    found: list[Resource] = []
    if "AWS/EC2" in wanted:
        found += _instances(ctx)
    if "AWS/RDS" in wanted:
        found += _databases(ctx)
    found += _load_balancers(ctx, wanted)
    if "AWS/Lambda" in wanted:
        for function in ctx.read("lambda", "ListFunctions").get("Functions", []):
            name = function["FunctionName"]
            found.append(Resource("AWS::Lambda::Function", function.get("FunctionArn") or
                                  ctx.arn("lambda", f"function:{name}"), f"Lambda function {name}", "AWS/Lambda",
                                  (("FunctionName", name),)))
    if "AWS/DynamoDB" in wanted:
        for name in ctx.read("dynamodb", "ListTables").get("TableNames", []):
            found.append(Resource("AWS::DynamoDB::Table", ctx.arn("dynamodb", f"table/{name}"),
                                  f"DynamoDB table {name}", "AWS/DynamoDB", (("TableName", name),)))
    if "AWS/EFS" in wanted:
        for system in ctx.read("efs", "DescribeFileSystems").get("FileSystems", []):
            system_id = system["FileSystemId"]
            found.append(Resource("AWS::EFS::FileSystem", system.get("FileSystemArn") or
                                  ctx.arn("elasticfilesystem", f"file-system/{system_id}"),
                                  f"EFS file system {system_id}", "AWS/EFS", (("FileSystemId", system_id),)))
    return found


def _metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm watches: its own, or the metric queries of a math expression
    (a Metrics Insights query has no MetricStat and names no resource)."""
    if alarm.get("MetricName") or alarm.get("Namespace"):
        return [alarm]
    return [q["MetricStat"]["Metric"] for q in alarm.get("Metrics") or [] if q.get("MetricStat", {}).get("Metric")]


def alarm_namespaces(alarm: dict[str, Any]) -> set[str]:
    """The namespaces a metric alarm watches (one metric, or every metric of a math expression)."""
    return {m["Namespace"] for m in _metrics(alarm) if m.get("Namespace")}


def alarm_dimensions(alarm: dict[str, Any]) -> set[Dimension]:
    """Every (name, value) dimension of the metrics the alarm watches."""
    return {(d["Name"], d["Value"]) for m in _metrics(alarm) for d in m.get("Dimensions") or [] if "Value" in d}


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


def _named(items: list[str]) -> str:
    return ", ".join(items[:MAX_NAMED]) + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


@check(
    id="cloudwatch_alarms_actionable",
    title="Every workload resource has an alarm that notifies a confirmed subscriber",
    severity=Severity.MEDIUM,
    criteria=("OPE-001.1", "OPE-001.3"),
    permissions=(
        "cloudwatch:DescribeAlarms",
        "cloudwatch:ListMetrics",
        "sns:ListSubscriptionsByTopic",
        "ec2:DescribeInstances",
        "autoscaling:DescribeAutoScalingGroups",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "elasticloadbalancing:DescribeLoadBalancers",
        "lambda:ListFunctions",
        "dynamodb:ListTables",
        "elasticfilesystem:DescribeFileSystems",
    ),
    scope=Scope.REGIONAL,
    remediation="For each workload resource create CloudWatch alarms on its health metrics (CPU, errors, "
    "unhealthy hosts...; for instances of an Auto Scaling group, on the group) whose alarm action is an SNS "
    "topic with a confirmed subscription (on-call e-mail, chat, paging tool).",
)
def cloudwatch_alarms_actionable(ctx: CheckContext) -> Iterator[Finding]:
    """Metrics only help if a threshold on them wakes someone up, and an alarm on one server says
    nothing about the others. Every workload resource of the region (running EC2 instance, RDS
    DB instance or cluster, load balancer, Lambda function, DynamoDB table, EFS file system)
    must be watched by at least one alarm, recognised by the metric dimension that names it
    (``InstanceId``, ``DBInstanceIdentifier``/``DBClusterIdentifier``, ``LoadBalancer`` in its
    ``app/name/id`` form or ``LoadBalancerName`` for Classic, ``FunctionName``, ``TableName``,
    ``FileSystemId``), in any namespace (CloudWatch agent metrics count). An instance of an Auto
    Scaling group is also covered by an alarm on its group (``AutoScalingGroupName``); a DB
    cluster by an alarm on itself or on one of its member instances. A metric math alarm counts
    for the dimensions of its metric queries; a Metrics Insights query alarm and an alarm without
    dimensions (an aggregate over all instances) are not attributed to any resource. Workload
    namespaces without a resource listing here (ECS, SQS, API Gateway...) are judged as a whole:
    when they published metrics in the last three hours, an alarm on any of their metrics counts.
    The alarm must have actions enabled and notify an SNS topic with a confirmed subscription,
    directly or through a composite alarm; a subscription still waiting for e-mail confirmation
    delivers nothing. Billing and usage alarms never count; actions other than SNS (Auto Scaling,
    EC2 recovery, Systems Manager) are listed but notify nobody. PASS when every resource (and
    namespace judged as a whole) is covered; one FAIL for the region naming each uncovered one;
    NOT_APPLICABLE when the region has no workload resource and no such namespace (its alarms
    are listed). When a topic's subscriptions cannot be read, the resources whose only alarms use it are
    listed as undetermined: the finding is FAIL if other resources are certainly uncovered,
    ERROR otherwise."""
    wanted = wanted_namespaces(ctx)
    present = workload_namespaces(ctx)
    resources = workload_resources(ctx, wanted)
    whole = sorted(present - RESOURCE_NAMESPACES)
    answer = ctx.read("cloudwatch", "DescribeAlarms", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    metric_alarms: list[dict[str, Any]] = answer.get("MetricAlarms", [])
    composites: list[dict[str, Any]] = answer.get("CompositeAlarms", [])
    workload_alarms = [a for a in metric_alarms if alarm_namespaces(a) - NON_WORKLOAD_NAMESPACES]
    if not resources and not whole:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message=f"No workload resource in {ctx.region} and no other workload namespace with recent metrics.",
            evidence={
                "workload_namespaces_present": sorted(present),
                "resources_total": 0,
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
    watchers: dict[Dimension, list[dict[str, Any]]] = {}
    for alarm, entry in zip(workload_alarms, evaluated, strict=True):
        for dimension in alarm_dimensions(alarm):
            watchers.setdefault(dimension, []).append(entry)

    covered: dict[str, list[str]] = {}
    uncovered: list[dict[str, Any]] = []
    undetermined: list[dict[str, Any]] = []
    for resource in resources:
        entries = {e["alarm"]: e for d in resource.dimensions for e in watchers.get(d, [])}
        notifying = sorted(name for name, e in entries.items() if e["notifies"] is True)
        if notifying:
            covered[resource.label] = notifying
            continue
        facts = {
            "resource": resource.label,
            "resource_type": resource.resource_type,
            "resource_id": resource.resource_id,
            "watched_by_dimensions": [f"{name}={value}" for name, value in resource.dimensions],
            "alarms": [f"{name}: {e['reason']}" for name, e in sorted(entries.items())],
        }
        unknown = any(e["notifies"] is None for e in entries.values())
        (undetermined if unknown else uncovered).append(facts)
    namespaces_covered: dict[str, list[str]] = {}
    namespaces_unknown: set[str] = set()
    for entry in evaluated:
        for namespace in set(entry["namespaces"]) & set(whole):
            if entry["notifies"] is True:
                namespaces_covered.setdefault(namespace, []).append(entry["alarm"])
            elif entry["notifies"] is None:
                namespaces_unknown.add(namespace)
    namespaces_uncovered = [ns for ns in whole if ns not in namespaces_covered and ns not in namespaces_unknown]
    namespaces_undetermined = [ns for ns in whole if ns not in namespaces_covered and ns in namespaces_unknown]

    evidence: dict[str, Any] = {
        "workload_namespaces_present": sorted(present),
        "resources_total": len(resources),
        "covered": dict(list(covered.items())[:MAX_LISTED]),
        "uncovered": uncovered[:MAX_LISTED],
        "uncovered_total": len(uncovered),
        "namespaces_judged_as_a_whole": whole,
        "namespaces_covered": namespaces_covered,
        "namespaces_uncovered": namespaces_uncovered,
        "alarms": evaluated[:MAX_LISTED],
        "alarms_total": len(evaluated),
        "topics": list(topics.values()),
    }
    if undetermined or namespaces_undetermined:
        evidence["undetermined"] = undetermined[:MAX_LISTED]
        evidence["namespaces_undetermined"] = namespaces_undetermined
        evidence["errors"] = [error_evidence(f) for f in failures]
    if not uncovered and not namespaces_uncovered:
        if undetermined or namespaces_undetermined:
            yield ctx.error(failures[0])
            return
        parts = [f"each of the {len(resources)} workload resource(s) in {ctx.region}"] if resources else []
        parts += [", ".join(whole)] if whole else []
        yield ctx.finding(
            Status.PASS,
            message=f"An alarm notifying a confirmed subscriber watches {' and '.join(parts)}.",
            evidence=evidence,
        )
        return
    gaps = []
    if uncovered:
        labels = [u["resource"] for u in uncovered]
        gaps.append(f"{len(uncovered)} of {len(resources)} workload resource(s) in {ctx.region}: {_named(labels)}")
    if namespaces_uncovered:
        gaps.append("any metric of " + ", ".join(namespaces_uncovered))
    message = "No alarm notifying a confirmed subscriber watches " + "; nor ".join(gaps) + "."
    problems = [f"{e['alarm']}: {e['reason']}" for e in evaluated if e["notifies"] is not True]
    if problems:
        message += " " + "; ".join(problems[:MAX_NAMED]) + ("." if len(problems) <= MAX_NAMED else "; ...")
    if undetermined or namespaces_undetermined:
        count = len(undetermined) + len(namespaces_undetermined)
        message += (f" Coverage of {count} more could not be determined: {failures[0].call.action} failed "
                    f"({failures[0].error_code}).")
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
        "dimensions": sorted(f"{n}={v}" for n, v in alarm_dimensions(alarm)),
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
