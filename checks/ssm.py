"""Systems Manager: managed instances, patch baselines, patch schedules and compliance (TEC-003),
and the account's own Automation runbooks (OPE-002.1)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from checks._instances import instances as all_instances
from checks._instances import running_instances
from scanner.analysis.schedule import ScheduleError, parse_schedule
from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

INSTANCE = "AWS::EC2::Instance"
MAX_LISTED = 20
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


MAX_LISTED_INSTANCES = 50


def managed_instances(ctx: CheckContext) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ctx.read("ssm", "DescribeInstanceInformation").get("InstanceInformationList", [])
    return found


def no_managed_instance(ctx: CheckContext, consequence: str) -> Finding:
    """No SSM managed instance in the region: nothing to judge only if nothing runs either.

    Running instances that Systems Manager does not manage are not patched by it at all, so the
    patching criteria are not met there (a NOT_APPLICABLE would roll up as met)."""
    running = sorted(i["InstanceId"] for i in running_instances(ctx))
    if not running:
        return ctx.finding(
            Status.NOT_APPLICABLE,
            evidence={"running_instances": []},
            message="No running EC2 instance and no SSM managed instance in this region: nothing to patch.",
        )
    return ctx.finding(
        Status.FAIL,
        evidence={"running_instances": running[:MAX_LISTED_INSTANCES], "running_count": len(running)},
        message=f"{len(running)} running EC2 instance(s) but none managed by Systems Manager: {consequence} "
        "(see ssm_instances_managed).",
    )


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
        yield no_managed_instance(ctx, "no patch baseline applies to them")
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
        # A patch group has one baseline per operating system; an instance whose OS has none in
        # its group is patched with the region's default baseline for that OS.
        baseline_id = registered.get((group, system)) if group else None
        source = f"patch group {group}" if baseline_id else "default baseline"
        if group and baseline_id is None:
            source += f" (patch group {group} has no baseline for {system})"
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


def _recurrence(expression: str | None) -> tuple[float | None, str | None]:
    """(longest hours between two runs, why the schedule does not recur) for an SSM schedule."""
    if not expression:
        return None, "no schedule (runs only when created or when its targets change)"
    try:
        parsed = parse_schedule(expression)
    except ScheduleError as error:
        return None, f"schedule not understood ({error})"
    if parsed.max_interval_hours is not None:
        return parsed.max_interval_hours, None
    if parsed.kind == "at":
        return None, f"runs once ({expression}), it does not recur"
    return None, f"does not recur ({expression} stops after its last run)"


def _instant(text: str) -> datetime | None:
    """An ISO 8601 window date. Without an offset AWS reads it in the window's ScheduleTimezone;
    it is taken as UTC here (at most 14 hours off)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _window_problems(ctx: CheckContext, window: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if not window.get("Enabled", True):
        problems.append("window disabled")
    end = window.get("EndDate")
    if end:
        moment = _instant(str(end))
        if moment is None:
            problems.append(f"window end date {end} not understood")
        elif moment <= ctx.now:
            problems.append(f"window ended on {end}")
    return problems


def _target_text(key: str, values: list[str]) -> str:
    return f"{key}={','.join(values)}"


class TargetResolver:
    """Which managed instances a list of SSM targets reaches.

    Resolved: ``InstanceIds`` (``*`` is every managed instance), ``tag:<key>`` and ``tag-key``
    against the EC2 instance tags (``DescribeInstances``, read only when a tag target exists),
    and a maintenance window task's ``WindowTargetIds`` through the window's registered targets.
    Not resolved, and reported as such: resource groups (``resource-groups:*``), any other key,
    and tag targets for hybrid (``mi-``) managed instances, whose tags are not read.
    """

    def __init__(self, ctx: CheckContext, managed: list[str]) -> None:
        self.ctx = ctx
        self.managed = managed
        self._tags: dict[str, dict[str, str]] | None = None

    def tags(self) -> dict[str, dict[str, str]]:
        if self._tags is None:
            self._tags = {
                i["InstanceId"]: {t["Key"]: t.get("Value", "") for t in i.get("Tags", [])}
                for i in all_instances(self.ctx)
            }
        return self._tags

    def reach(self, targets: list[dict[str, Any]]) -> tuple[set[str], list[str]]:
        """(managed instance ids reached, descriptions of the targets that were not resolved)."""
        reached: set[str] = set()
        unresolved: list[str] = []
        for target in targets:
            key, values = str(target.get("Key", "")), [str(v) for v in target.get("Values") or []]
            if key == "InstanceIds":
                reached |= set(self.managed) if "*" in values else set(values) & set(self.managed)
            elif key.startswith("tag:") or key == "tag-key":
                ec2 = [i for i in self.managed if not i.startswith("mi-")]
                tags = self.tags() if ec2 else {}
                if key == "tag-key":
                    reached |= {i for i in ec2 if set(values) & set(tags.get(i, {}))}
                else:
                    reached |= {i for i in ec2 if tags.get(i, {}).get(key[4:]) in values}
                if len(ec2) < len(self.managed):
                    unresolved.append(f"{_target_text(key, values)} (tags of hybrid managed instances are not read)")
            else:
                unresolved.append(_target_text(key, values))
        return reached, unresolved


def _schedule_entry(
    resolver: TargetResolver,
    *,
    kind: str,
    identifier: str,
    name: str | None,
    document: str,
    schedule: str | None,
    operation: str | None,
    targets: list[dict[str, Any]],
    problems: list[str],
) -> dict[str, Any]:
    interval, recurrence_problem = _recurrence(schedule)
    problems = [*problems, *([recurrence_problem] if recurrence_problem else [])]
    if operation == "Scan":
        problems.append("Operation=Scan only reports missing patches, it installs none")
    reached, unresolved = resolver.reach(targets)
    return {
        "kind": kind,
        "id": identifier,
        "name": name,
        "document": document,
        "schedule": schedule,
        "max_interval_hours": interval,
        "operation": operation,
        "targets": targets,
        "reaches": sorted(reached),
        "unresolved_targets": unresolved,
        "problems": problems,
    }


def _window_schedules(ctx: CheckContext, resolver: TargetResolver) -> Iterator[dict[str, Any]]:
    for window in ctx.read("ssm", "DescribeMaintenanceWindows").get("WindowIdentities", []):
        window_id = window["WindowId"]
        tasks = ctx.read("ssm", "DescribeMaintenanceWindowTasks", WindowId=window_id).get("Tasks", [])
        registered: dict[str, list[dict[str, Any]]] | None = None
        for task in tasks:
            if task.get("TaskArn") not in PATCH_DOCUMENTS:
                continue
            detail = ctx.read("ssm", "GetMaintenanceWindowTask", WindowId=window_id, WindowTaskId=task["WindowTaskId"])
            invocation = (detail.get("TaskInvocationParameters") or {}).get("RunCommand") or {}
            operation = _operation(invocation.get("Parameters")) or _operation(detail.get("TaskParameters"))
            targets: list[dict[str, Any]] = []
            for target in task.get("Targets") or detail.get("Targets") or []:
                if target.get("Key") != "WindowTargetIds":
                    targets.append(target)
                    continue
                if registered is None:  # the window's registered targets, read once per window
                    listed = ctx.read("ssm", "DescribeMaintenanceWindowTargets", WindowId=window_id).get("Targets", [])
                    registered = {t["WindowTargetId"]: list(t.get("Targets") or []) for t in listed}
                targets += [t for target_id in target.get("Values") or [] for t in registered.get(target_id, [])]
            entry = _schedule_entry(
                resolver,
                kind="maintenance window",
                identifier=window_id,
                name=window.get("Name"),
                document=task["TaskArn"],
                schedule=window.get("Schedule"),
                operation=operation or ("Install" if task["TaskArn"] == "AWS-InstallWindowsUpdates" else None),
                targets=targets,
                problems=_window_problems(ctx, window),
            )
            entry.update({"enabled": bool(window.get("Enabled", True)), "end_date": window.get("EndDate") or None})
            yield entry


def _association_schedules(ctx: CheckContext, resolver: TargetResolver) -> Iterator[dict[str, Any]]:
    for association in ctx.read("ssm", "ListAssociations").get("Associations", []):
        if association.get("Name") not in PATCH_DOCUMENTS:
            continue
        described = ctx.read("ssm", "DescribeAssociation", AssociationId=association["AssociationId"]).get(
            "AssociationDescription", {}
        )
        targets = list(described.get("Targets") or association.get("Targets") or [])
        if not targets and association.get("InstanceId"):  # a legacy association with one instance
            targets = [{"Key": "InstanceIds", "Values": [association["InstanceId"]]}]
        operation = _operation(described.get("Parameters"))
        yield _schedule_entry(
            resolver,
            kind="association",
            identifier=association["AssociationId"],
            name=association.get("AssociationName"),
            document=association["Name"],
            schedule=association.get("ScheduleExpression"),
            operation=operation or ("Install" if association["Name"] == "AWS-InstallWindowsUpdates" else None),
            targets=targets,
            problems=[],
        )


def _label(entry: Mapping[str, Any]) -> str:
    named = f"{entry['name']} ({entry['id']})" if entry["name"] else entry["id"]
    return f"{entry['kind']} {named}"


@check(
    id="ssm_patch_schedule",
    title="Patches are deployed on a schedule",
    severity=Severity.MEDIUM,
    criteria=("TEC-003.1",),
    permissions=(
        "ssm:DescribeInstanceInformation",
        "ssm:DescribeMaintenanceWindows",
        "ssm:DescribeMaintenanceWindowTasks",
        "ssm:GetMaintenanceWindowTask",
        "ssm:DescribeMaintenanceWindowTargets",
        "ssm:ListAssociations",
        "ssm:DescribeAssociation",
        "ec2:DescribeInstances",
    ),
    scope=Scope.REGIONAL,
    remediation="Schedule patching: a Patch Manager patch policy (Quick Setup), a State Manager association "
    "of AWS-RunPatchBaseline with Operation=Install and a recurring schedule, or a maintenance window task "
    "running it, targeting every managed instance.",
)
def ssm_patch_schedule(ctx: CheckContext) -> Iterator[Finding]:
    """TEC-003.1 asks for scheduled update deployment. A schedule counts when it installs patches
    (AWS-RunPatchBaseline, AWS-RunPatchBaselineAssociation or AWS-InstallWindowsUpdates with an
    Operation other than Scan; an unreadable Operation is reported as unknown and counted) on a
    recurring schedule (``cron``/``rate``; a one-time ``at(...)``, a cron whose years end, or an
    association without a schedule does not recur), from a maintenance window that is enabled and
    whose EndDate, if any, is in the future (a date without an offset is taken as UTC), or from a
    State Manager association. Every SSM managed instance of the region must be reached by the
    targets of a counting schedule: instances no counting schedule targets fail the check. Targets
    by instance id, ``tag:<key>`` and ``tag-key`` (EC2 tags) are resolved; resource-group targets,
    and tag targets for hybrid (``mi-``) instances, are not: instances only they might reach are
    listed as not shown targeted, without failing the check. A region without managed instances
    has nothing to patch: NOT_APPLICABLE if no EC2 instance runs there either, else FAIL (running
    instances Systems Manager does not manage are patched by no schedule)."""
    managed = sorted(i["InstanceId"] for i in managed_instances(ctx))
    if not managed:
        yield no_managed_instance(ctx, "no patch schedule reaches them")
        return
    resolver = TargetResolver(ctx, managed)
    schedules = [*_window_schedules(ctx, resolver), *_association_schedules(ctx, resolver)]
    counting = [s for s in schedules if not s["problems"]]
    targeted = sorted({i for s in counting for i in s["reaches"]})
    unresolved = sorted({u for s in counting for u in s["unresolved_targets"]})
    missed = [i for i in managed if i not in targeted]
    untargeted, not_shown = ([], missed) if unresolved else (missed, [])
    evidence = {
        "patch_schedules": schedules,
        "managed_instances": managed,
        "targeted_instances": targeted,
        "untargeted_instances": untargeted,
        "unresolved_targets": unresolved,
        "not_shown_targeted": not_shown,
    }
    if not schedules:
        message = "No maintenance window task or State Manager association runs AWS-RunPatchBaseline on a schedule."
    elif not counting and all(s["operation"] == "Scan" for s in schedules):
        message = f"{len(schedules)} patch schedule(s) only scan (Operation=Scan); none installs patches."
    elif not counting:
        reasons = "; ".join(f"{_label(s)}: {', '.join(s['problems'])}" for s in schedules[:MAX_LISTED])
        message = f"No recurring patch deployment schedule: {reasons}."
    elif untargeted:
        message = (
            f"{len(untargeted)} of {len(managed)} managed instance(s) not targeted by any recurring patch "
            f"deployment: {', '.join(untargeted[:MAX_LISTED])}."
        )
    else:
        first = counting[0]
        message = (
            f"{len(counting)} recurring patch deployment schedule(s) for {len(managed)} managed instance(s), "
            f"e.g. {_label(first)} runs {first['document']} on {first['schedule']}."
        )
        if not_shown:
            message += (
                f" Not shown targeted: {', '.join(not_shown[:MAX_LISTED])}; targets not resolved (resource groups, "
                f"tags of hybrid instances) may reach them: {', '.join(unresolved)}."
            )
        yield ctx.finding(Status.PASS, evidence=evidence, message=message)
        return
    yield ctx.finding(Status.FAIL, evidence=evidence, message=message)


@check(
    id="ssm_patch_compliance",
    title="Managed instances report patch compliance COMPLIANT",
    severity=Severity.HIGH,
    criteria=("TEC-003.2",),
    permissions=("ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:DescribeInstancePatchStates"),
    scope=Scope.REGIONAL,
    remediation="Install the missing patches (AWS-RunPatchBaseline Operation=Install), reboot instances with "
    "patches pending reboot, remove installed patches the baseline rejects (or review the rejection), and make "
    "sure every instance is scanned at least every 30 days.",
)
def ssm_patch_compliance(ctx: CheckContext) -> Iterator[Finding]:
    """The patch state each managed instance last reported (DescribeInstancePatchStates): it is
    COMPLIANT when no approved patch is missing or failed, none waits for a reboot and no patch the
    baseline rejects is installed (AWS counts INSTALLED_PENDING_REBOOT and INSTALLED_REJECTED as
    non-compliant,
    https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager-compliance-states.html).
    An instance that never reported, or whose last report is older than ``patch_report_max_age_days``
    (default 30), fails: old data proves nothing about today."""
    managed = managed_instances(ctx)
    if not managed:
        yield no_managed_instance(ctx, "none reports its patch compliance")
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
                ("InstalledRejectedCount", "installed but rejected by the baseline"),
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
