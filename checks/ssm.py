"""Systems Manager: managed instances, patch baselines, patch schedules and compliance (TEC-003),
and the account's own Automation runbooks (OPE-002.1)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from scanner.analysis.schedule import ScheduleError, parse_schedule
from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

INSTANCE = "AWS::EC2::Instance"
MANAGED = "AWS::SSM::ManagedInstance"
PATCH_DOCUMENTS = frozenset({"AWS-RunPatchBaseline", "AWS-RunPatchBaselineAssociation", "AWS-InstallWindowsUpdates"})
PATCH_GROUP_TAGS = ("Patch Group", "PatchGroup")  # both spellings are honoured by Patch Manager
# SSM PlatformName prefixes -> Patch Manager OperatingSystem. Amazon Linux also needs the version.
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreatePatchBaseline.html
PLATFORMS = (
    ("Ubuntu", "UBUNTU"),
    ("Red Hat Enterprise Linux", "REDHAT_ENTERPRISE_LINUX"),
    ("SLES", "SUSE"),
    ("SUSE", "SUSE"),
    ("CentOS", "CENTOS"),
    ("Oracle Linux", "ORACLE_LINUX"),
    ("Debian", "DEBIAN"),
    ("Rocky", "ROCKY_LINUX"),
    ("AlmaLinux", "ALMA_LINUX"),
    ("Raspbian", "RASPBIAN"),
)


def running_instances(ctx: CheckContext) -> list[dict[str, Any]]:
    reservations = ctx.read("ec2", "DescribeInstances").get("Reservations", [])
    instances = [i for r in reservations for i in r.get("Instances", [])]
    return [i for i in instances if i.get("State", {}).get("Name") == "running"]


def managed_instances(ctx: CheckContext) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ctx.read("ssm", "DescribeInstanceInformation").get("InstanceInformationList", [])
    return found


def instance_arn(ctx: CheckContext, instance_id: str) -> tuple[str, str]:
    if instance_id.startswith("mi-"):
        return ctx.arn("ssm", f"managed-instance/{instance_id}"), MANAGED
    return ctx.arn("ec2", f"instance/{instance_id}"), INSTANCE


def operating_system(info: Mapping[str, Any]) -> str | None:
    """Patch Manager's OperatingSystem for what the SSM Agent reports; ``None`` if unknown."""
    kind, name, version = (str(info.get(k) or "") for k in ("PlatformType", "PlatformName", "PlatformVersion"))
    if kind == "Windows":
        return "WINDOWS"
    if kind == "MacOS":
        return "MACOS"
    if name.startswith("Amazon Linux"):
        major = version.split(".")[0]
        return {"2": "AMAZON_LINUX_2", "2022": "AMAZON_LINUX_2022", "2023": "AMAZON_LINUX_2023"}.get(
            major, "AMAZON_LINUX"
        )
    return next((system for prefix, system in PLATFORMS if name.startswith(prefix)), None)


@check(
    id="ssm_instances_managed",
    title="Running EC2 instances are SSM managed instances",
    severity=Severity.MEDIUM,
    criteria=("TEC-003.2",),
    permissions=("ec2:DescribeInstances", "ssm:DescribeInstanceInformation"),
    scope=Scope.REGIONAL,
    remediation="Install and start the SSM Agent, give the instance an instance profile with "
    "AmazonSSMManagedInstanceCore (or enable Default Host Management Configuration) and let it reach the "
    "SSM endpoints.",
)
def ssm_instances_managed(ctx: CheckContext) -> Iterator[Finding]:
    """Patch Manager can only patch and report on instances that Systems Manager manages. An
    instance the agent no longer reaches (PingStatus ConnectionLost or Inactive) is not managed in
    any useful sense, and fails too."""
    running = running_instances(ctx)
    if not running:
        yield ctx.finding(Status.NOT_APPLICABLE, message="No running EC2 instance in this region.", evidence={})
        return
    managed = {i["InstanceId"]: i for i in managed_instances(ctx)}
    for instance in running:
        instance_id = instance["InstanceId"]
        arn, kind = instance_arn(ctx, instance_id)
        info = managed.get(instance_id)
        evidence: dict[str, Any] = {"instance_id": instance_id, "managed": info is not None}
        if info is None:
            status, message = Status.FAIL, f"{instance_id} is running but not managed by Systems Manager."
        else:
            evidence.update({k: info.get(k) for k in ("PingStatus", "PlatformName", "PlatformVersion", "AgentVersion")})
            if info.get("LastPingDateTime"):
                evidence["LastPingDateTime"] = info["LastPingDateTime"].isoformat()
            online = info.get("PingStatus") == "Online"
            status = Status.PASS if online else Status.FAIL
            message = f"{instance_id} is a managed instance (ping {info.get('PingStatus')})."
        yield ctx.finding(status, resource_id=arn, resource_type=kind, message=message, evidence=evidence)


def instance_patch_groups(ctx: CheckContext) -> dict[str, str]:
    """Instance id -> its patch group (the ``Patch Group``/``PatchGroup`` tag), EC2 instances only."""
    groups: dict[str, str] = {}
    for instance in running_instances(ctx):
        tags = {t["Key"]: t.get("Value", "") for t in instance.get("Tags", [])}
        group = next((tags[k] for k in PATCH_GROUP_TAGS if tags.get(k)), None)
        if group:
            groups[instance["InstanceId"]] = group
    return groups


@check(
    id="ssm_patch_baseline",
    title="A patch baseline with approval rules applies to each operating system in use",
    severity=Severity.MEDIUM,
    criteria=("TEC-003.2",),
    permissions=(
        "ec2:DescribeInstances",
        "ssm:DescribeInstanceInformation",
        "ssm:DescribePatchGroups",
        "ssm:GetDefaultPatchBaseline",
        "ssm:GetPatchBaseline",
    ),
    scope=Scope.REGIONAL,
    remediation="Give each operating system (and patch group) a baseline with approval rules, e.g. "
    "aws ssm create-patch-baseline --approval-rules ... then register-default-patch-baseline or "
    "register-patch-baseline-for-patch-group.",
)
def ssm_patch_baseline(ctx: CheckContext) -> Iterator[Finding]:
    """The baseline decides which patches are approved. For each operating system of the managed
    instances and each patch group they belong to, the baseline in force (the patch group's, else
    the region's default for that OS) must approve patches by rule (ApprovalRules): a baseline that
    only lists approved patches by name never approves the next security fix. AWS's predefined
    default baselines have approval rules and pass; the evidence says which baseline is in force."""
    managed = managed_instances(ctx)
    if not managed:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            evidence={},
            message="No SSM managed instance in this region (see ssm_instances_managed).",
        )
        return
    groups = instance_patch_groups(ctx)
    registered = {
        (m["PatchGroup"], m["BaselineIdentity"]["OperatingSystem"]): m["BaselineIdentity"]["BaselineId"]
        for m in ctx.read("ssm", "DescribePatchGroups").get("Mappings", [])
    }
    in_force: dict[tuple[str, str | None], list[str]] = {}
    unknown: list[str] = []
    for info in managed:
        system = operating_system(info)
        if system is None:
            unknown.append(f"{info['InstanceId']} ({info.get('PlatformName')} {info.get('PlatformVersion')})")
        else:
            in_force.setdefault((system, groups.get(info["InstanceId"])), []).append(info["InstanceId"])
    rows: list[dict[str, Any]] = []
    for (system, group), instances in sorted(in_force.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        baseline_id = registered.get((group, system)) if group else None
        source = f"patch group {group}" if baseline_id else "default baseline"
        if baseline_id is None:
            baseline_id = ctx.read("ssm", "GetDefaultPatchBaseline", OperatingSystem=system)["BaselineId"]
        baseline = ctx.read("ssm", "GetPatchBaseline", BaselineId=baseline_id)
        rules = (baseline.get("ApprovalRules") or {}).get("PatchRules") or []
        rows.append(
            {
                "operating_system": system,
                "patch_group": group,
                "baseline_id": baseline_id,
                "baseline_name": baseline.get("Name"),
                "source": source,
                "approval_rules": len(rules),
                "approved_patches": len(baseline.get("ApprovedPatches") or []),
                "aws_predefined": str(baseline_id).startswith("arn:"),
                "instances": sorted(instances),
            }
        )
    bad = [r for r in rows if not r["approval_rules"]]
    evidence = {"baselines_in_force": rows, "unknown_operating_systems": unknown}
    if bad or unknown:
        problems = [
            f"{r['operating_system']}"
            + (f"/{r['patch_group']}" if r["patch_group"] else "")
            + f": baseline {r['baseline_name']} has no approval rules"
            for r in bad
        ]
        problems += [f"cannot tell the patch baseline of {u}" for u in unknown]
        yield ctx.finding(Status.FAIL, message="; ".join(problems) + ".", evidence=evidence)
    else:
        summary = ", ".join(
            f"{r['operating_system']}{'/' + r['patch_group'] if r['patch_group'] else ''}: {r['baseline_name']}"
            for r in rows
        )
        yield ctx.finding(Status.PASS, message=f"Baselines with approval rules in force: {summary}.", evidence=evidence)


def _operation(parameters: Mapping[str, Any] | None) -> str | None:
    values = (parameters or {}).get("Operation")
    if isinstance(values, Mapping):  # maintenance window TaskParameters: {"Operation": {"Values": [...]}}
        values = values.get("Values")
    return str(values[0]) if isinstance(values, list) and values else None


def _interval(expression: str | None) -> float | None:
    try:
        return parse_schedule(expression).max_interval_hours if expression else None
    except ScheduleError:
        return None


@check(
    id="ssm_patch_schedule",
    title="Patches are deployed on a schedule",
    severity=Severity.MEDIUM,
    criteria=("TEC-003.1",),
    permissions=(
        "ssm:DescribeMaintenanceWindows",
        "ssm:DescribeMaintenanceWindowTasks",
        "ssm:GetMaintenanceWindowTask",
        "ssm:ListAssociations",
        "ssm:DescribeAssociation",
    ),
    scope=Scope.REGIONAL,
    remediation="Schedule patching: a Patch Manager patch policy (Quick Setup), a State Manager association "
    "of AWS-RunPatchBaseline with Operation=Install and a schedule, or a maintenance window task running it.",
)
def ssm_patch_schedule(ctx: CheckContext) -> Iterator[Finding]:
    """TEC-003.1 asks for scheduled update deployment. An enabled maintenance window with a task
    running AWS-RunPatchBaseline (or AWS-RunPatchBaselineAssociation, AWS-InstallWindowsUpdates),
    or a State Manager association of one of them with a schedule, counts. Schedules whose
    Operation is Scan only report and do not deploy: when every schedule found is Scan-only the
    check fails. Where the operation cannot be read it is reported as unknown and counted."""
    schedules: list[dict[str, Any]] = []
    for window in ctx.read("ssm", "DescribeMaintenanceWindows").get("WindowIdentities", []):
        if not window.get("Enabled", True):
            continue
        tasks = ctx.read("ssm", "DescribeMaintenanceWindowTasks", WindowId=window["WindowId"]).get("Tasks", [])
        for task in tasks:
            if task.get("TaskArn") not in PATCH_DOCUMENTS:
                continue
            detail = ctx.read(
                "ssm", "GetMaintenanceWindowTask", WindowId=window["WindowId"], WindowTaskId=task["WindowTaskId"]
            )
            invocation = (detail.get("TaskInvocationParameters") or {}).get("RunCommand") or {}
            operation = _operation(invocation.get("Parameters")) or _operation(detail.get("TaskParameters"))
            schedules.append(
                {
                    "kind": "maintenance window",
                    "id": window["WindowId"],
                    "name": window.get("Name"),
                    "document": task["TaskArn"],
                    "schedule": window.get("Schedule"),
                    "max_interval_hours": _interval(window.get("Schedule")),
                    "operation": operation,
                }
            )
    for association in ctx.read("ssm", "ListAssociations").get("Associations", []):
        if association.get("Name") not in PATCH_DOCUMENTS or not association.get("ScheduleExpression"):
            continue
        described = ctx.read("ssm", "DescribeAssociation", AssociationId=association["AssociationId"])
        parameters = described.get("AssociationDescription", {}).get("Parameters")
        schedules.append(
            {
                "kind": "association",
                "id": association["AssociationId"],
                "name": association.get("AssociationName"),
                "document": association["Name"],
                "schedule": association["ScheduleExpression"],
                "max_interval_hours": _interval(association["ScheduleExpression"]),
                "operation": _operation(parameters),
            }
        )
    for entry in schedules:
        if entry["document"] == "AWS-InstallWindowsUpdates":
            entry["operation"] = entry["operation"] or "Install"
    deploying = [s for s in schedules if s["operation"] != "Scan"]
    evidence = {"patch_schedules": schedules}
    if deploying:
        first = deploying[0]
        yield ctx.finding(
            Status.PASS,
            evidence=evidence,
            message=f"{len(deploying)} patch deployment schedule(s), "
            f"e.g. {first['kind']} {first['name'] or first['id']} runs {first['document']} "
            f"on {first['schedule']}.",
        )
    elif schedules:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message=f"{len(schedules)} patch schedule(s) only scan (Operation=Scan); none installs patches.",
        )
    else:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message="No maintenance window task or State Manager association runs AWS-RunPatchBaseline on a schedule.",
        )


@check(
    id="ssm_patch_compliance",
    title="Managed instances report patch compliance COMPLIANT",
    severity=Severity.HIGH,
    criteria=("TEC-003.2",),
    permissions=("ssm:DescribeInstanceInformation", "ssm:DescribeInstancePatchStates"),
    scope=Scope.REGIONAL,
    remediation="Install the missing patches (AWS-RunPatchBaseline Operation=Install), reboot instances with "
    "patches pending reboot, and make sure every instance is scanned at least every 30 days.",
)
def ssm_patch_compliance(ctx: CheckContext) -> Iterator[Finding]:
    """The patch state each managed instance last reported (DescribeInstancePatchStates): it is
    COMPLIANT when no approved patch is missing or failed and none waits for a reboot (AWS counts
    INSTALLED_PENDING_REBOOT as non-compliant,
    https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager-compliance-states.html).
    An instance that never reported, or whose last report is older than ``patch_report_max_age_days``
    (default 30), fails: old data proves nothing about today."""
    managed = managed_instances(ctx)
    if not managed:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            evidence={},
            message="No SSM managed instance in this region (see ssm_instances_managed).",
        )
        return
    max_age = timedelta(days=int(ctx.setting("patch_report_max_age_days", 30)))
    ids = sorted(i["InstanceId"] for i in managed)
    states: dict[str, dict[str, Any]] = {}
    failures: dict[str, CallFailed] = {}
    for start in range(0, len(ids), 50):  # the API takes at most 50 instance ids
        chunk = ids[start : start + 50]
        try:
            answer = ctx.read("ssm", "DescribeInstancePatchStates", InstanceIds=chunk)
        except CallFailed as failure:
            failures.update(dict.fromkeys(chunk, failure))
            continue
        states.update({s["InstanceId"]: s for s in answer.get("InstancePatchStates", [])})
    for instance_id in ids:
        arn, kind = instance_arn(ctx, instance_id)
        if instance_id in failures:
            yield ctx.error(failures[instance_id], resource_id=arn, resource_type=kind)
            continue
        state = states.get(instance_id)
        if state is None:
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=kind,
                evidence={"instance_id": instance_id},
                message=f"{instance_id} has never reported patch compliance (no patch scan ran).",
            )
            continue
        counts = {
            k: int(state.get(k) or 0)
            for k in (
                "MissingCount",
                "FailedCount",
                "InstalledPendingRebootCount",
                "InstalledCount",
                "InstalledRejectedCount",
            )
        }
        ended = state.get("OperationEndTime")
        evidence = {
            "instance_id": instance_id,
            **counts,
            "baseline_id": state.get("BaselineId"),
            "patch_group": state.get("PatchGroup") or None,
            "operation": state.get("Operation"),
            "reported_at": ended.isoformat() if ended else None,
        }
        problems = [
            f"{counts[k]} {label}"
            for k, label in (
                ("MissingCount", "missing"),
                ("FailedCount", "failed"),
                ("InstalledPendingRebootCount", "pending reboot"),
            )
            if counts[k]
        ]
        if ended is None or ctx.now - ended > max_age:
            problems.append(f"last report older than {max_age.days} days")
        if problems:
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=kind,
                evidence=evidence,
                message=f"{instance_id} is NON_COMPLIANT: {', '.join(problems)}.",
            )
        else:
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=kind,
                evidence=evidence,
                message=f"{instance_id} is COMPLIANT with baseline {state.get('BaselineId')}.",
            )


@check(
    id="ssm_runbooks",
    title="The account holds its own SSM Automation runbooks",
    severity=Severity.LOW,
    criteria=("OPE-002.1",),
    permissions=("ssm:ListDocuments",),
    scope=Scope.GLOBAL,
    remediation="Write runbooks for routine operations and for the alarms of OPE-001 as SSM Automation "
    "documents (aws ssm create-document --document-type Automation).",
)
def ssm_runbooks(ctx: CheckContext) -> Iterator[Finding]:
    """OPE-002.1 asks for runbooks for routine tasks and for the OPE-001 metrics. Customer-owned
    Automation documents are the machine-readable kind; they are listed from every scanned region
    (documents are regional). AWS-owned runbooks (AWS-*) do not count: they are not the
    customer's procedures. Runbooks kept as wiki pages need manual evidence."""
    filters = [{"Key": "Owner", "Values": ["Self"]}, {"Key": "DocumentType", "Values": ["Automation"]}]
    by_region: dict[str, list[str]] = {}
    for region in ctx.regions:
        documents = ctx.read("ssm", "ListDocuments", region=region, Filters=filters).get("DocumentIdentifiers", [])
        by_region[region] = sorted(str(d["Name"]) for d in documents)
    total = sum(len(names) for names in by_region.values())
    evidence = {"runbooks_by_region": by_region, "count": total}
    if total:
        names = sorted({n for names in by_region.values() for n in names})
        yield ctx.finding(
            Status.PASS, evidence=evidence, message=f"{total} own Automation runbook(s): {', '.join(names[:10])}."
        )
    else:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message=f"No customer-owned SSM Automation runbook in the scanned regions ({', '.join(ctx.regions)}).",
        )
