"""CloudFormation: infrastructure deployed as code, whose templates are sound and whose live
resources still match them (REL-001.1).

All three checks read the stacks of a region once (``DescribeStacks``, shared through the
gateway cache). Stacks that deploy nothing (``REVIEW_IN_PROGRESS``: a change set never executed;
``ROLLBACK_COMPLETE``/``CREATE_FAILED``: creation failed and rolled back) are left out.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks._instances import instances
from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

STACK = "AWS::CloudFormation::Stack"
NOT_DEPLOYED = frozenset({"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "CREATE_FAILED", "DELETE_COMPLETE"})
STACK_NAME_TAG = "aws:cloudformation:stack-name"
MAX_LISTED = 50


def deployed_stacks(ctx: CheckContext) -> list[dict[str, Any]]:
    stacks: list[dict[str, Any]] = ctx.read("cloudformation", "DescribeStacks").get("Stacks", [])
    return [s for s in stacks if s.get("StackStatus") not in NOT_DEPLOYED]


def _iac_markers(ctx: CheckContext) -> list[tuple[str, str | None]]:
    """Tags that mark a resource as deployed by another IaC tool: the setting ``iac_tag_keys``
    (entries ``key`` or ``key=value``, e.g. ``managed-by=terraform``)."""
    markers: list[tuple[str, str | None]] = []
    for entry in ctx.setting("iac_tag_keys", ()):
        key, sep, value = str(entry).partition("=")
        markers.append((key, value if sep else None))
    return markers


def _tool_tag(tags: Mapping[str, str], markers: list[tuple[str, str | None]]) -> str | None:
    for key, value in markers:
        if key in tags and (value is None or tags[key] == value):
            return f"{key}={tags[key]}"
    return None


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or []}


@dataclass(frozen=True)
class LiveResource:
    """One resource of a counted type, as its own service lists it."""

    arn: str
    resource_type: str  # the CloudFormation type name
    physical_id: str  # how ListStackResources names it (PhysicalResourceId)
    tags: Mapping[str, str] = field(default_factory=dict)  # tags the listing itself carries
    attached_to: str | None = None  # an EBS volume's instance


# The reads below are the other checks' reads, with the same parameters, so the gateway cache
# serves both (ssm/ec2/_backup_inventory/elb/s3/dynamodb).
def _ec2_instances(ctx: CheckContext) -> Iterator[LiveResource]:
    for instance in instances(ctx):
        if instance.get("State", {}).get("Name") in ("terminated", "shutting-down"):
            continue
        instance_id = instance["InstanceId"]
        arn = ctx.arn("ec2", f"instance/{instance_id}")
        yield LiveResource(arn, "AWS::EC2::Instance", instance_id, _tags(instance.get("Tags")))


def _security_groups(ctx: CheckContext) -> Iterator[LiveResource]:
    for group in ctx.read("ec2", "DescribeSecurityGroups").get("SecurityGroups", []):
        if group.get("GroupName") == "default":
            continue  # AWS creates one with every VPC and it cannot be deleted: nobody deployed it
        arn = ctx.arn("ec2", f"security-group/{group['GroupId']}")
        yield LiveResource(arn, "AWS::EC2::SecurityGroup", group["GroupId"], _tags(group.get("Tags")))


def _volumes(ctx: CheckContext) -> Iterator[LiveResource]:
    for volume in ctx.read("ec2", "DescribeVolumes").get("Volumes", []):
        attached = next((a["InstanceId"] for a in volume.get("Attachments", []) if a.get("InstanceId")), None)
        arn = ctx.arn("ec2", f"volume/{volume['VolumeId']}")
        yield LiveResource(arn, "AWS::EC2::Volume", volume["VolumeId"], _tags(volume.get("Tags")), attached)


def _databases(ctx: CheckContext) -> Iterator[LiveResource]:
    for db in ctx.read("rds", "DescribeDBInstances").get("DBInstances", []):
        yield LiveResource(
            db["DBInstanceArn"], "AWS::RDS::DBInstance", db["DBInstanceIdentifier"], _tags(db.get("TagList"))
        )
    for cluster in ctx.read("rds", "DescribeDBClusters").get("DBClusters", []):
        yield LiveResource(
            cluster["DBClusterArn"],
            "AWS::RDS::DBCluster",
            cluster["DBClusterIdentifier"],
            _tags(cluster.get("TagList")),
        )


def _load_balancers(ctx: CheckContext) -> Iterator[LiveResource]:
    for lb in ctx.read("elbv2", "DescribeLoadBalancers").get("LoadBalancers", []):
        arn = lb["LoadBalancerArn"]
        yield LiveResource(arn, "AWS::ElasticLoadBalancingV2::LoadBalancer", arn)
    for lb in ctx.read("elb", "DescribeLoadBalancers").get("LoadBalancerDescriptions", []):
        name = lb["LoadBalancerName"]
        arn = ctx.arn("elasticloadbalancing", f"loadbalancer/{name}")
        yield LiveResource(arn, "AWS::ElasticLoadBalancing::LoadBalancer", name)


def _buckets(ctx: CheckContext) -> Iterator[LiveResource]:
    """The buckets located in the scanned region. ``LocationConstraint`` is empty for us-east-1
    and the legacy ``EU`` for eu-west-1 (as checks/s3.py reads it)."""
    for bucket in ctx.read("s3", "ListBuckets", region=ctx.home_region).get("Buckets", []):
        name = bucket["Name"]
        location = ctx.read("s3", "GetBucketLocation", region=ctx.home_region, Bucket=name).get("LocationConstraint")
        if {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, str(location)) == ctx.region:
            yield LiveResource(f"arn:{ctx.partition}:s3:::{name}", "AWS::S3::Bucket", name)


def _tables(ctx: CheckContext) -> Iterator[LiveResource]:
    for name in ctx.read("dynamodb", "ListTables").get("TableNames", []):
        yield LiveResource(ctx.arn("dynamodb", f"table/{name}"), "AWS::DynamoDB::Table", name)


def _functions(ctx: CheckContext) -> Iterator[LiveResource]:
    for function in ctx.read("lambda", "ListFunctions").get("Functions", []):
        yield LiveResource(function["FunctionArn"], "AWS::Lambda::Function", function["FunctionName"])


INVENTORY: tuple[tuple[str, Callable[[CheckContext], Iterator[LiveResource]]], ...] = (
    ("EC2 instances", _ec2_instances),
    ("security groups (not the default ones)", _security_groups),
    ("EBS volumes", _volumes),
    ("RDS DB instances and clusters", _databases),
    ("load balancers (ALB/NLB/GWLB and Classic)", _load_balancers),
    ("S3 buckets located in the region", _buckets),
    ("DynamoDB tables", _tables),
    ("Lambda functions", _functions),
)
COUNTED_TYPES = (
    "AWS::EC2::Instance",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Volume",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancing::LoadBalancer",
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
)
# Stack resource types whose physical id names a resource of a counted type.
SAME_RESOURCE = {
    "AWS::DynamoDB::GlobalTable": "AWS::DynamoDB::Table",
    "AWS::Neptune::DBInstance": "AWS::RDS::DBInstance",
    "AWS::DocDB::DBInstance": "AWS::RDS::DBInstance",
    "AWS::Neptune::DBCluster": "AWS::RDS::DBCluster",
    "AWS::DocDB::DBCluster": "AWS::RDS::DBCluster",
}
AUTOSCALING_GROUP = "AWS::AutoScaling::AutoScalingGroup"
AUTOSCALING_TAG = "aws:autoscaling:groupName"


def _stack_resources(ctx: CheckContext, stacks: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(resource type, physical id) -> stack name, for every resource of the deployed stacks."""
    owned: dict[tuple[str, str], str] = {}
    for stack in stacks:
        summaries = ctx.read("cloudformation", "ListStackResources", StackName=stack["StackId"]).get(
            "StackResourceSummaries", []
        )
        for summary in summaries:
            physical = summary.get("PhysicalResourceId")
            if physical and summary.get("ResourceStatus") != "DELETE_COMPLETE":
                kind = str(summary.get("ResourceType", ""))
                owned[(SAME_RESOURCE.get(kind, kind), str(physical))] = stack["StackName"]
    return owned


def _owner(
    resource: LiveResource,
    tags: Mapping[str, str],
    owned: Mapping[tuple[str, str], str],
    stack_names: set[str],
    markers: list[tuple[str, str | None]],
) -> str | None:
    """The stack (or ``key=value`` IaC tag) that deployed ``resource``; ``None`` if none did."""
    stack = owned.get((resource.resource_type, resource.physical_id))
    if stack:
        return stack
    # CloudFormation tags what it creates, and tags propagate to what it makes indirectly (an
    # Auto Scaling group's instances); a resource retained from a deleted stack keeps the tag,
    # so the tag counts only for a stack deployed now.
    if tags.get(STACK_NAME_TAG) in stack_names:
        return tags[STACK_NAME_TAG]
    group = tags.get(AUTOSCALING_TAG)
    if group and (AUTOSCALING_GROUP, group) in owned:
        return owned[(AUTOSCALING_GROUP, group)]
    return _tool_tag(tags, markers)


@check(
    id="cloudformation_stacks_present",
    title="Infrastructure is deployed by CloudFormation stacks",
    severity=Severity.MEDIUM,
    criteria=("REL-001.1",),
    permissions=(
        "cloudformation:DescribeStacks",
        "cloudformation:ListStackResources",
        "tag:GetResources",
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVolumes",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "elasticloadbalancing:DescribeLoadBalancers",
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "dynamodb:ListTables",
        "lambda:ListFunctions",
    ),
    scope=Scope.REGIONAL,
    remediation="Deploy the workload's resources through CloudFormation (or CDK/SAM), and import resources "
    "created by hand into a stack (CloudFormation resource import, or IaC generator).",
)
def cloudformation_stacks_present(ctx: CheckContext) -> Iterator[Finding]:
    """Infrastructure built by hand cannot be rebuilt, reviewed or rolled back. The main live
    resource types of the region are read from their own services (EC2 instances, security
    groups except the default ones, EBS volumes, RDS DB instances and clusters, load balancers,
    S3 buckets located in the region, DynamoDB tables, Lambda functions), so that resources
    nobody tagged are counted too, and each is matched with the deployed stacks: a resource of a
    stack (``ListStackResources`` physical id), a resource tagged ``aws:cloudformation:stack-name``
    with the name of a stack deployed now (what CloudFormation propagates, e.g. to an Auto Scaling
    group's instances), an instance of a stack's Auto Scaling group, or an EBS volume attached to
    an instance deployed by code is deployed by code. Resources of other IaC tools count when tagged as the
    ``iac_tag_keys`` setting says (tags from the listing or from the Resource Groups Tagging API).
    The share is deployed-by-code / counted, overall and per type; PASS when stacks (or credited
    IaC tags) exist and the share is at least ``iac_min_share`` (default 0.8). Other resource
    types (VPCs, queues, roles...) are not counted.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html"""
    min_share = float(ctx.setting("iac_min_share", 0.8))
    markers = _iac_markers(ctx)
    stacks = deployed_stacks(ctx)
    stack_names = {str(s["StackName"]) for s in stacks}
    owned = _stack_resources(ctx, stacks)
    tagged = {
        m["ResourceARN"]: _tags(m.get("Tags"))
        for m in ctx.read("resourcegroupstaggingapi", "GetResources").get("ResourceTagMappingList", [])
    }
    live = [resource for _, read in INVENTORY for resource in read(ctx)]
    owners: dict[str, str | None] = {}
    for resource in sorted(live, key=lambda r: r.attached_to is not None):  # instances before their volumes
        tags = {**tagged.get(resource.arn, {}), **resource.tags}
        owner = _owner(resource, tags, owned, stack_names, markers)
        if owner is None and resource.attached_to:
            owner = owners.get(ctx.arn("ec2", f"instance/{resource.attached_to}"))
        owners[resource.arn] = owner
    by_type: dict[str, dict[str, Any]] = {}
    for resource in live:
        row = by_type.setdefault(resource.resource_type, {"resources": 0, "managed": 0})
        row["resources"] += 1
        row["managed"] += owners[resource.arn] is not None
    for row in by_type.values():
        row["share"] = round(row["managed"] / row["resources"], 3)
    managed = Counter(owner for owner in owners.values() if owner is not None)
    unmanaged = sorted(arn for arn, owner in owners.items() if owner is None)
    total = len(live)
    share = round(sum(managed.values()) / total, 3) if total else None
    evidence: dict[str, Any] = {
        "stacks": len(stacks),
        "stack_names": sorted(stack_names)[:MAX_LISTED],
        "counted_types": [label for label, _ in INVENTORY],
        "counted_resources": total,
        "managed_resources": sum(managed.values()),
        "share": share,
        "min_share": min_share,
        "by_type": {kind: by_type[kind] for kind in COUNTED_TYPES if kind in by_type},
        "managed_by": dict(sorted(managed.items())),
        "unmanaged_resources": unmanaged[:MAX_LISTED],
        "iac_tags": [STACK_NAME_TAG, *(k if v is None else f"{k}={v}" for k, v in markers)],
    }
    if not stacks and not total:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message=f"No stack and no resource of the counted types in {ctx.region}.",
            evidence=evidence,
        )
        return
    # Resources credited to another IaC tool (owner "key=value"; stack names cannot hold "=")
    # stand in for stacks when the scan was told about that tool.
    credited = bool(stacks) or any("=" in owner for owner in managed)
    types = ", ".join(
        f"{kind.split('::')[-1]} {row['managed']}/{row['resources']}" for kind, row in evidence["by_type"].items()
    )
    if credited and (share is None or share >= min_share):
        detail = (
            "no resource of the counted types outside them"
            if share is None
            else (
                f"{evidence['managed_resources']} of {total} counted resources ({share:.0%}) are deployed by code "
                f"({types})"
            )
        )
        yield ctx.finding(Status.PASS, message=f"{len(stacks)} stack(s) in {ctx.region}; {detail}.", evidence=evidence)
        return
    if not credited:
        message = (
            f"No CloudFormation stack in {ctx.region}, yet {total} resource(s) of the counted types exist ({types})."
        )
    else:
        message = (
            f"Only {evidence['managed_resources']} of {total} counted resources ({share:.0%}) in {ctx.region} are "
            f"deployed by code (minimum {min_share:.0%}; {types}); {len(unmanaged)} are not."
        )
    yield ctx.finding(Status.FAIL, message=message, evidence=evidence)


# cfn-lint keeps process-wide state while it loads rules and specs; checks run in threads.
_LINT_LOCK = threading.Lock()


def lint_template(body: str, region: str) -> list[dict[str, Any]]:
    """cfn-lint's findings for one template (default rules: errors and warnings, no informational)."""
    from cfnlint.api import ManualArgs, lint

    with _LINT_LOCK:
        matches = lint(body, config=ManualArgs(regions=[region]))
    return [
        {
            "rule": m.rule.id,
            "severity": str(m.rule.severity).lower(),
            "line": m.linenumber,
            "column": m.columnnumber,
            "message": m.message,
        }
        for m in matches
    ]


def _cfn_lint_version() -> str:
    from importlib.metadata import version

    return version("cfn-lint")


@check(
    id="cloudformation_templates_lint",
    title="Deployed stack templates have no cfn-lint errors",
    severity=Severity.LOW,
    criteria=("REL-001.1",),
    permissions=("cloudformation:DescribeStacks", "cloudformation:GetTemplate"),
    scope=Scope.REGIONAL,
    remediation="Run cfn-lint on the templates in the deployment pipeline, fix the reported errors and "
    "update the stacks.",
)
def cloudformation_templates_lint(ctx: CheckContext) -> Iterator[Finding]:
    """Infrastructure as code is only as good as its code: a template with schema errors (unknown
    properties, values out of range, broken references) deploys by luck and will fail the next
    update. Each stack's template as submitted (``GetTemplate`` stage ``Original``, before
    transforms such as SAM) is linted in-process with cfn-lint for the stack's region; errors
    fail the stack, warnings are reported with a PASS. botocore returns JSON templates already
    parsed: they are re-serialised (2-space indent) before linting, so line numbers refer to that
    text, not to the author's file (the evidence says which)."""
    stacks = deployed_stacks(ctx)
    if not stacks:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No CloudFormation stack in {ctx.region}.", evidence={})
        return
    for stack in stacks:
        arn, name = stack["StackId"], stack["StackName"]
        try:
            answer = ctx.read("cloudformation", "GetTemplate", StackName=arn, TemplateStage="Original")
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=arn, resource_type=STACK)
            continue
        body = answer.get("TemplateBody", "")
        text, source = (
            (body, "as deployed") if isinstance(body, str) else (json.dumps(body, indent=2), "json re-serialised")
        )
        findings = lint_template(text, ctx.region)
        errors = [f for f in findings if f["severity"] == "error"]
        warnings = [f for f in findings if f["severity"] == "warning"]
        evidence = {
            "stack": name,
            "cfn_lint_version": _cfn_lint_version(),
            "template_lines": source,
            "errors": len(errors),
            "warnings": len(warnings),
            "findings": (errors + warnings)[:MAX_LISTED],
        }
        if errors:
            rules = ", ".join(sorted({f"{e['rule']} (line {e['line']})" for e in errors}))
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Template of stack {name} has {len(errors)} cfn-lint error(s): {rules}.",
            )
        else:
            note = (
                f" ({len(warnings)} warning(s): {', '.join(sorted({w['rule'] for w in warnings}))})" if warnings else ""
            )
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Template of stack {name} has no cfn-lint error{note}.",
            )


def _timestamp(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


@check(
    id="cloudformation_no_drift",
    title="No stack's last drift detection found drift",
    severity=Severity.MEDIUM,
    criteria=("REL-001.1",),
    permissions=("cloudformation:DescribeStacks",),
    scope=Scope.REGIONAL,
    remediation="Run drift detection (aws cloudformation detect-stack-drift), bring drifted resources back to "
    "the template or update the template, and detect drift regularly (e.g. an AWS Config rule).",
)
def cloudformation_no_drift(ctx: CheckContext) -> Iterator[Finding]:
    """A resource changed outside its stack (by hand in the console, by a script) silently
    diverges from the code that claims to describe it, and the next stack update may undo or
    break the change. govscan reads the result of the last drift detection only
    (``DriftInformation.StackDriftStatus``): starting a detection is a write
    (``DetectStackDrift``) and govscan never makes one. ``DRIFTED`` fails; ``IN_SYNC`` passes
    (the age of the detection is evidence). ``NOT_CHECKED`` (drift was never detected) and
    ``UNKNOWN`` (no result; the API reference reserves the value) leave unproven that the stack
    still describes its live resources: they fail with low severity and name the command to run,
    so that an account that never detected drift does not meet REL-001.1 by default.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackDriftInformation.html"""
    stacks = deployed_stacks(ctx)
    if not stacks:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No CloudFormation stack in {ctx.region}.", evidence={})
        return
    for stack in stacks:
        arn, name = stack["StackId"], stack["StackName"]
        drift = stack.get("DriftInformation") or {}
        status = drift.get("StackDriftStatus", "NOT_CHECKED")
        checked_at = drift.get("LastCheckTimestamp")
        evidence: dict[str, Any] = {"stack": name, "drift_status": status, "last_check": _timestamp(checked_at)}
        if isinstance(checked_at, datetime):
            evidence["days_since_check"] = (ctx.now - checked_at).days
        if status == "DRIFTED":
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Stack {name} had drifted at its last drift detection ({evidence['last_check']}).",
            )
        elif status == "IN_SYNC":
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Stack {name} was in sync at its last drift detection ({evidence['last_check']}).",
            )
        else:
            what = "drift was never detected" if status == "NOT_CHECKED" else f"its drift status is {status}"
            command = f"aws cloudformation detect-stack-drift --stack-name {name} --region {ctx.region}"
            # No verdict on drift itself: the missing evidence is a low-severity gap, not a drift.
            yield ctx.finding(
                Status.FAIL,
                severity=Severity.LOW,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Stack {name}: {what}, so whether its resources still match the template is unknown. "
                f"Run drift detection ({command}, or Stack actions > Detect drift in the console); govscan only "
                "reads the result and never starts one.",
                remediation=f"{command}; then read the result (aws cloudformation "
                "describe-stack-drift-detection-status) and repeat it regularly (e.g. the AWS Config rule "
                "cloudformation-stack-drift-detection-check).",
            )
