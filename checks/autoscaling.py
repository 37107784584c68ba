"""Amazon EC2 Auto Scaling: groups spread over Availability Zones (DOC-001.2) and scale with
demand (DOC-001.1); running EC2 instances outside any group do not scale automatically."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks._instances import running_instances
from scanner.context import CheckContext
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

GROUP = "AWS::AutoScaling::AutoScalingGroup"
INSTANCE = "AWS::EC2::Instance"
# Simple and step scaling run only when a CloudWatch alarm invokes them; target tracking creates
# and manages its own alarms; predictive scaling acts only in ForecastAndScale mode (the API's
# default mode is ForecastOnly).
# https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scale-based-on-demand.html
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PredictiveScalingConfiguration.html
ALARM_DRIVEN = frozenset({"SimpleScaling", "StepScaling"})


def groups(ctx: CheckContext) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ctx.read("autoscaling", "DescribeAutoScalingGroups").get("AutoScalingGroups", [])
    return found


def group_arn(ctx: CheckContext, group: dict[str, Any]) -> str:
    # DescribeAutoScalingGroups always returns the ARN (it embeds a generated id that cannot be rebuilt).
    return str(group["AutoScalingGroupARN"])


def standalone_instances(ctx: CheckContext, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Running EC2 instances that no group of ``found`` lists among its instances. The instance
    listing is unfiltered, as in the other checks that read it, so the cache serves them all."""
    members = {i["InstanceId"] for group in found for i in group.get("Instances", [])}
    return [i for i in running_instances(ctx) if i["InstanceId"] not in members]


def not_applicable(ctx: CheckContext) -> Finding:
    return ctx.finding(Status.NOT_APPLICABLE, message=f"No Auto Scaling groups in {ctx.region}.", evidence={})


@check(
    id="autoscaling_multi_az",
    title="Auto Scaling groups span at least two Availability Zones",
    severity=Severity.MEDIUM,
    criteria=("DOC-001.2",),
    permissions=("autoscaling:DescribeAutoScalingGroups",),
    scope=Scope.REGIONAL,
    remediation="Add subnets in other Availability Zones to the group (aws autoscaling update-auto-scaling-group "
    "--vpc-zone-identifier subnet-a,subnet-b,...); Auto Scaling then balances instances across them.",
)
def autoscaling_multi_az(ctx: CheckContext) -> Iterator[Finding]:
    """An Auto Scaling group confined to one Availability Zone cannot replace its instances when
    that zone fails. The checklist asks for high availability across AZs: every group must be
    able to launch in at least two zones (its ``AvailabilityZones``, which follow the subnets of
    ``VPCZoneIdentifier``). Where the instances currently run is shown as evidence.
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-availability-zone-balanced.html"""
    found = groups(ctx)
    if not found:
        yield not_applicable(ctx)
        return
    for group in found:
        name = group["AutoScalingGroupName"]
        zones = sorted(set(group.get("AvailabilityZones", [])))
        running: dict[str, int] = {}
        for instance in group.get("Instances", []):
            zone = str(instance.get("AvailabilityZone"))
            running[zone] = running.get(zone, 0) + 1
        evidence = {
            "group": name,
            "availability_zones": zones,
            "subnets": [s for s in str(group.get("VPCZoneIdentifier") or "").split(",") if s],
            "instances_per_zone": dict(sorted(running.items())),
        }
        arn = group_arn(ctx, group)
        if len(zones) >= 2:
            yield ctx.finding(Status.PASS, resource_id=arn, resource_type=GROUP, evidence=evidence,
                              message=f"Auto Scaling group {name} spans {', '.join(zones)}.")
        else:
            where = zones[0] if zones else "no Availability Zone"
            yield ctx.finding(Status.FAIL, resource_id=arn, resource_type=GROUP, evidence=evidence,
                              message=f"Auto Scaling group {name} can only launch in {where}.")


def policy_facts(policy: dict[str, Any]) -> dict[str, Any]:
    """One scaling policy, and whether it can scale the group on demand (with the reason if not)."""
    kind = policy.get("PolicyType", "SimpleScaling")
    enabled = policy.get("Enabled", True)
    alarms = [a.get("AlarmName") for a in policy.get("Alarms", [])]
    facts: dict[str, Any] = {"name": policy.get("PolicyName"), "type": kind, "enabled": enabled, "alarms": alarms}
    if kind == "TargetTrackingScaling":
        config = policy.get("TargetTrackingConfiguration", {})
        metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType") or "custom metric"
        facts["target"] = f"{metric} = {config.get('TargetValue')}"
    if kind == "PredictiveScaling":
        facts["mode"] = (policy.get("PredictiveScalingConfiguration") or {}).get("Mode") or "ForecastOnly"
    reason = None
    if not enabled:
        reason = "disabled"
    elif kind in ALARM_DRIVEN and not alarms:
        reason = "no CloudWatch alarm invokes it"
    elif kind == "PredictiveScaling" and facts["mode"] != "ForecastAndScale":
        reason = "predictive scaling in ForecastOnly mode does not scale"
    facts["scales_on_demand"] = reason is None
    if reason:
        facts["inactive_because"] = reason
    return facts


@check(
    id="autoscaling_scaling_policies",
    title="Auto Scaling groups scale with demand",
    severity=Severity.MEDIUM,
    criteria=("DOC-001.1",),
    permissions=("autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribePolicies",
                 "autoscaling:DescribeScheduledActions", "ec2:DescribeInstances"),
    scope=Scope.REGIONAL,
    remediation="Run the servers in an Auto Scaling group (a launch template and at least two subnets) with a "
    "target tracking policy (aws autoscaling put-scaling-policy --policy-type TargetTrackingScaling, e.g. "
    "ASGAverageCPUUtilization 50) and keep MaxSize above MinSize.",
)
def autoscaling_scaling_policies(ctx: CheckContext) -> Iterator[Finding]:
    """The checklist asks that the design scales automatically with demand. A group does when an
    enabled dynamic policy can change its capacity: target tracking, step or simple scaling
    invoked by a CloudWatch alarm, or predictive scaling in ForecastAndScale mode, and its MaxSize
    is above its MinSize (otherwise no policy can move it). Scheduled actions follow the clock,
    not demand: a group with only scheduled actions FAILs and the actions are listed as evidence.
    A running EC2 instance that no Auto Scaling group lists among its instances is a server of
    fixed capacity: it FAILs on its own (nothing adds a server when it is overloaded). Instances
    launched by other scalers (Karpenter, EMR managed scaling, EC2 or Spot Fleet) are not
    recognised and FAIL the same way; the reviewer can explain them. Not evaluated here: ECS
    service, Lambda, DynamoDB and Aurora scaling (Application Auto Scaling), so a region with no
    Auto Scaling group and no running instance is NOT_APPLICABLE."""
    found = groups(ctx)
    if found:
        yield from _group_verdicts(ctx, found)
    instances = standalone_instances(ctx, found)
    if not found and not instances:
        yield ctx.finding(
            Status.NOT_APPLICABLE, evidence={"auto_scaling_groups": [], "running_instances": []},
            message=f"No Auto Scaling groups and no running EC2 instances in {ctx.region} (ECS service and "
            "Lambda scaling are not evaluated).",
        )
    yield from _fixed_instances(ctx, instances, found)


def _group_verdicts(ctx: CheckContext, found: list[dict[str, Any]]) -> Iterator[Finding]:
    """One finding per group: PASS when an active dynamic policy can move its capacity."""
    policies: dict[str, list[dict[str, Any]]] = {}
    for policy in ctx.read("autoscaling", "DescribePolicies").get("ScalingPolicies", []):
        policies.setdefault(policy["AutoScalingGroupName"], []).append(policy_facts(policy))
    scheduled: dict[str, list[dict[str, Any]]] = {}
    for action in ctx.read("autoscaling", "DescribeScheduledActions").get("ScheduledUpdateGroupActions", []):
        scheduled.setdefault(action["AutoScalingGroupName"], []).append({
            "name": action.get("ScheduledActionName"), "recurrence": action.get("Recurrence"),
            "min_size": action.get("MinSize"), "max_size": action.get("MaxSize"),
            "desired_capacity": action.get("DesiredCapacity"),
        })
    for group in found:
        name = group["AutoScalingGroupName"]
        own = policies.get(name, [])
        active = [p["name"] for p in own if p["scales_on_demand"]]
        evidence = {"group": name, "min_size": group.get("MinSize"), "max_size": group.get("MaxSize"),
                    "desired_capacity": group.get("DesiredCapacity"), "policies": own,
                    "scheduled_actions": scheduled.get(name, [])}
        fixed = group.get("MinSize") == group.get("MaxSize")
        if active and not fixed:
            yield ctx.finding(Status.PASS, resource_id=group_arn(ctx, group), resource_type=GROUP, evidence=evidence,
                              message=f"Auto Scaling group {name} scales on demand ({', '.join(active)}).")
            continue
        if active:
            problem = f"MinSize equals MaxSize ({group.get('MinSize')}), so its policies cannot change capacity"
        elif own:
            problem = "none of its scaling policies can act (" + "; ".join(
                f"{p['name']}: {p['inactive_because']}" for p in own) + ")"
        elif evidence["scheduled_actions"]:
            count = len(evidence["scheduled_actions"])
            problem = f"it has only scheduled actions ({count}), which do not follow demand"
        else:
            problem = "it has no scaling policies"
        yield ctx.finding(Status.FAIL, resource_id=group_arn(ctx, group), resource_type=GROUP, evidence=evidence,
                          message=f"Auto Scaling group {name} does not scale on demand: {problem}.")


def _fixed_instances(
    ctx: CheckContext, instances: list[dict[str, Any]], found: list[dict[str, Any]]
) -> Iterator[Finding]:
    """One FAIL per running instance outside every Auto Scaling group."""
    for instance in instances:
        instance_id = instance["InstanceId"]
        name = next((t["Value"] for t in instance.get("Tags", []) if t.get("Key") == "Name"), None)
        evidence = {
            "instance_id": instance_id,
            "name": name,
            "instance_type": instance.get("InstanceType"),
            "availability_zone": (instance.get("Placement") or {}).get("AvailabilityZone"),
            "auto_scaling_groups_in_region": [g["AutoScalingGroupName"] for g in found],
        }
        called = f"{instance_id} ({name})" if name else instance_id
        yield ctx.finding(
            Status.FAIL, resource_id=ctx.arn("ec2", f"instance/{instance_id}"), resource_type=INSTANCE,
            evidence=evidence, message=f"EC2 instance {called} runs outside any Auto Scaling group: this part of "
            "the workload has a fixed capacity and does not scale automatically.",
        )
