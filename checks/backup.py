"""AWS Backup: coverage, recent recovery points, protected vaults (TEC-001.1), restore testing
(TEC-001.2) and RPO/RTO targets (REL-002.1, TEC-001.3).

The inventory of data stores and plan selections is in :mod:`checks._backup_inventory`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from checks._backup_inventory import (
    CONTINUOUS_POINT,
    CONTINUOUS_RPO,
    INVENTORY_PERMISSIONS,
    DataStore,
    Protection,
    coverage,
    created_at,
    hours,
    protection,
)
from scanner.analysis.backup_selection import arn_matches
from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

VAULT = "AWS::Backup::BackupVault"


@check(
    id="backup_plan_coverage",
    title="AWS Backup plans cover every data store",
    severity=Severity.HIGH,
    criteria=("TEC-001.1",),
    permissions=INVENTORY_PERMISSIONS,
    scope=Scope.REGIONAL,
    remediation="Assign the data store to a backup plan (aws backup create-backup-selection) by ARN, by "
    "resource-type pattern (arn:aws:ec2:*:*:volume/*) or by tag condition; when assigning by tag, opt the "
    "resource type in (aws backup update-region-settings).",
)
def backup_plan_coverage(ctx: CheckContext) -> Iterator[Finding]:
    """Backups that depend on someone remembering to take them are missing when needed. Every RDS
    database, EBS volume, EFS file system and DynamoDB table should be assigned to an AWS Backup
    plan, by ARN, resource-type pattern or tags, so new resources are protected automatically.
    An EBS volume attached to an EC2 instance that a plan selects is protected with the instance
    (AWS Backup takes the instance's AMI with a snapshot of every attached volume): the evidence
    names the instance. Read replicas are reported not applicable (protected through their source)."""
    cov = coverage(ctx)
    if not cov.stores:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message="No RDS, EBS, EFS or DynamoDB data store in this region.",
            evidence={"backup_plans": cov.plans},
        )
        return
    for store in cov.stores:
        base = {"resource": store.name, "backup_resource_type": store.backup_type}
        covers = cov.covers.get(store.arn, [])
        if store.replica_of and not covers:
            message = f"{store.name} is a read replica of {store.replica_of}: back up its source."
            yield ctx.finding(
                Status.NOT_APPLICABLE,
                message=message,
                evidence={**base, "replica_of": store.replica_of},
                resource_id=store.arn,
                resource_type=store.resource_type,
            )
        elif covers:
            first = covers[0]
            message = (
                f"{store.backup_type} {store.name} is assigned to backup plan {first.plan_name} "
                f"(selection {first.selection_name}, {first.matched_by})."
            )
            yield ctx.finding(
                Status.PASS,
                message=message,
                evidence={**base, "covered_by": [c.evidence() for c in covers]},
                resource_id=store.arn,
                resource_type=store.resource_type,
            )
        else:
            opted = cov.opted_out.get(store.arn, [])
            why = f"; {', '.join(opted)} match it but {store.backup_type} is not opted in" if opted else ""
            evidence = {
                **base,
                "backup_plans": cov.plans,
                "matched_but_opted_out": opted,
                "tags": store.tags or {},
            }
            yield ctx.finding(
                Status.FAIL,
                message=f"{store.backup_type} {store.name} is in no backup plan{why}.",
                evidence=evidence,
                resource_id=store.arn,
                resource_type=store.resource_type,
            )


@check(
    id="backup_recent_recovery_points",
    title="Protected data stores have a recent completed recovery point",
    severity=Severity.HIGH,
    criteria=("TEC-001.1",),
    permissions=(*INVENTORY_PERMISSIONS, "backup:ListRecoveryPointsByResource", "dynamodb:DescribeTable"),
    scope=Scope.REGIONAL,
    remediation="Find why the backup jobs fail or do not run (aws backup list-backup-jobs --by-resource-arn "
    "...): the selection's IAM role, the target vault, the rule's start and completion windows.",
)
def backup_recent_recovery_points(ctx: CheckContext) -> Iterator[Finding]:
    """A plan that exists but whose jobs fail protects nothing. For each data store assigned to a
    plan, its rules are judged by kind. Snapshot rules: the newest COMPLETED snapshot recovery
    point must be younger than twice the longest gap between the merged runs of those rules (one
    missed run is tolerated, two are not). Continuous backup rules (RDS, Aurora): a continuous
    recovery point keeps the CreationDate of its first backup while it rolls forward, so its age
    says nothing; a COMPLETED continuous recovery point is required instead (AWS names them
    ``...:recovery-point:continuous:...``). A volume protected through its EC2 instance counts the
    instance's recovery points. A store created within the window and without a recovery point
    yet passes as not yet due (a DynamoDB table's creation time is read with DescribeTable)."""
    cov = coverage(ctx)
    protected = [s for s in cov.stores if s.arn in cov.covers]
    if not protected:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message="No data store in this region is assigned to a backup plan (see backup_plan_coverage).",
            evidence={"data_stores": len(cov.stores)},
        )
        return
    for store in protected:
        covers = cov.covers[store.arn]
        guard = protection(store, covers, ctx.now)
        owners = [store.arn, *sorted({c.via_instance for c in covers if c.via_instance})]
        try:
            points = [
                p
                for owner in owners
                for p in ctx.read("backup", "ListRecoveryPointsByResource", ResourceArn=owner).get(
                    "RecoveryPoints", []
                )
            ]
            status, message, evidence = _freshness(ctx, store, guard, points)
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=store.arn, resource_type=store.resource_type)
            continue
        evidence["recovery_points_of"] = owners
        yield ctx.finding(
            status,
            resource_id=store.arn,
            resource_type=store.resource_type,
            message=f"{store.name}: {message}",
            evidence=evidence,
        )


def _point(point: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "recovery_point": point["RecoveryPointArn"],
        "created": point["CreationDate"].isoformat(),
        "age_hours": hours(now - point["CreationDate"]),
        "vault": point.get("BackupVaultName"),
    }


def _freshness(
    ctx: CheckContext, store: DataStore, guard: Protection, points: list[dict[str, Any]]
) -> tuple[Status, str, dict[str, Any]]:
    """The verdict of backup_recent_recovery_points for one store. Raises CallFailed."""
    completed = sorted((p for p in points if p.get("Status") == "COMPLETED"), key=lambda p: p["CreationDate"])
    snapshots = [p for p in completed if CONTINUOUS_POINT not in p["RecoveryPointArn"]]
    continuous = [p for p in completed if CONTINUOUS_POINT in p["RecoveryPointArn"]]
    window = None if guard.snapshot_gap is None else 2 * guard.snapshot_gap
    latest = snapshots[-1] if snapshots else None
    evidence: dict[str, Any] = {
        "resource": store.name,
        "rules": guard.rules,
        "allowed_age_hours": hours(window),
        "latest_completed": None if latest is None else _point(latest, ctx.now),
        "continuous_backup": None,
        "other_statuses": sorted({str(p.get("Status")) for p in points} - {"COMPLETED"}),
    }

    def young(limit: timedelta | None) -> bool:
        created = created_at(ctx, store) if limit is not None else None
        return created is not None and limit is not None and ctx.now - created <= limit

    verdicts: list[tuple[bool, str]] = []
    if window is not None:
        age = None if latest is None else ctx.now - latest["CreationDate"]
        if age is not None and age <= window:
            text = f"latest completed recovery point is {hours(age)} h old (allowed {hours(window)} h)"
            verdicts.append((True, text))
        elif latest is None and young(window):
            verdicts.append((True, f"created less than {hours(window)} h ago; its first backup is not yet due"))
        else:
            seen = "none completed" if age is None else f"latest is {hours(age)} h old"
            verdicts.append((False, f"no completed recovery point within {hours(window)} h ({seen})"))
    if guard.continuous_rules:
        grace = None if guard.continuous_gap is None else 2 * guard.continuous_gap
        evidence["continuous_backup"] = {
            "rules": guard.continuous_rules,
            "completed_point": None if not continuous else _point(continuous[-1], ctx.now),
            "judged": "a continuous recovery point keeps the CreationDate of its first backup while it rolls "
            "forward: its status is judged (COMPLETED required), not its age",
        }
        # Grace only before any continuous point exists: one that is there but not COMPLETED
        # (e.g. STOPPED) has run and is not protecting.
        others = sorted({str(p.get("Status")) for p in points if CONTINUOUS_POINT in p["RecoveryPointArn"]})
        if continuous:
            point = continuous[-1]["RecoveryPointArn"]
            verdicts.append((True, f"continuous backup recovery point {point} is COMPLETED"))
        elif not others and young(grace):
            verdicts.append((True, f"created less than {hours(grace)} h ago; its continuous backup is not yet due"))
        else:
            seen = f" (continuous point status {', '.join(others)})" if others else ""
            verdicts.append((False, f"no COMPLETED continuous backup recovery point{seen}"))
    if not verdicts:
        return Status.FAIL, "no rule of its plans recurs on a parsable, current schedule.", evidence
    status = Status.PASS if all(ok for ok, _ in verdicts) else Status.FAIL
    return status, "; ".join(text for _, text in verdicts) + ".", evidence


DELETE_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVault",
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
)


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [] if value is None else [value])]


def denied_actions(policy: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """For each deletion action, the Deny statements covering it (``Action`` or ``NotAction``,
    wildcards, case-insensitive as IAM action names are). A Deny limited by a Principal or a
    Condition (e.g. exempting a break-glass role) still counts; the statement is evidence."""
    statements = policy.get("Statement", [])
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Deny":
            continue
        for action in DELETE_ACTIONS:
            if "Action" in statement:
                hit = any(arn_matches(p.lower(), action.lower()) for p in _listed(statement["Action"]))
            else:
                excluded = _listed(statement.get("NotAction"))
                hit = not any(arn_matches(p.lower(), action.lower()) for p in excluded)
            if hit:
                kept = {k: statement[k] for k in ("Sid", "Principal", "Condition") if k in statement}
                found.setdefault(action, []).append(kept)
    return found


@check(
    id="backup_vault_protected",
    title="Backup vaults are locked or deny deletion of recovery points",
    severity=Severity.HIGH,
    criteria=("TEC-001.1",),
    permissions=("backup:ListBackupVaults", "backup:GetBackupVaultAccessPolicy"),
    scope=Scope.REGIONAL,
    remediation="Lock the vault (aws backup put-backup-vault-lock-configuration --min-retention-days N; "
    "--changeable-for-days for compliance mode) or attach an access policy denying "
    "backup:DeleteRecoveryPoint.",
)
def backup_vault_protected(ctx: CheckContext) -> Iterator[Finding]:
    """Ransomware and careless administrators delete backups first. A vault should be locked
    (Vault Lock: recovery points cannot be deleted before their minimum retention; compliance
    mode cannot be undone once its grace time ends, governance mode can by privileged users) or
    carry an access policy that denies backup:DeleteRecoveryPoint. A vault without a policy
    answers ResourceNotFoundException, which is data here
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetBackupVaultAccessPolicy.html)."""
    vaults = ctx.read("backup", "ListBackupVaults").get("BackupVaultList", [])
    if not vaults:
        yield ctx.finding(Status.NOT_APPLICABLE, message="No backup vault in this region.", evidence={})
        return
    for vault in vaults:
        arn, name = vault["BackupVaultArn"], vault["BackupVaultName"]
        lock_date = vault.get("LockDate")
        mode = (
            None
            if not vault.get("Locked")
            else "governance"
            if lock_date is None
            else "compliance"
            if lock_date <= ctx.now
            else f"compliance, grace time until {lock_date.isoformat()}"
        )
        lock = {
            "locked": bool(vault.get("Locked")),
            "mode": mode,
            "min_retention_days": vault.get("MinRetentionDays"),
            "max_retention_days": vault.get("MaxRetentionDays"),
        }
        try:
            answer = ctx.read_optional(
                "backup",
                "GetBackupVaultAccessPolicy",
                absent=("ResourceNotFoundException",),
                BackupVaultName=name,
            )
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=arn, resource_type=VAULT)
            continue
        denies = denied_actions(json.loads(answer["Policy"])) if answer and answer.get("Policy") else {}
        evidence = {
            "vault": name,
            "lock": lock,
            "has_access_policy": answer is not None,
            "denied_actions": sorted(denies),
            "deny_statements": denies.get("backup:DeleteRecoveryPoint", []),
        }
        if lock["locked"]:
            status, message = (
                Status.PASS,
                f"is locked ({mode}, minimum retention {lock['min_retention_days']} days).",
            )
        elif "backup:DeleteRecoveryPoint" in denies:
            status, message = Status.PASS, "has an access policy denying backup:DeleteRecoveryPoint."
        elif answer is not None:
            status, message = (
                Status.FAIL,
                "is not locked and its access policy does not deny backup:DeleteRecoveryPoint.",
            )
        else:
            status, message = Status.FAIL, "is not locked and has no access policy."
        yield ctx.finding(
            status, resource_id=arn, resource_type=VAULT, message=f"Vault {name} {message}", evidence=evidence
        )


def restore_jobs(ctx: CheckContext) -> list[dict[str, Any]]:
    """Every restore job AWS Backup still lists (no filter, so both checks share one cached call)."""
    jobs: list[dict[str, Any]] = ctx.read("backup", "ListRestoreJobs").get("RestoreJobs", [])
    return jobs


def completed_restores(ctx: CheckContext, days: int) -> list[dict[str, Any]]:
    since = ctx.now - timedelta(days=days)
    done = [j for j in restore_jobs(ctx) if j.get("Status") == "COMPLETED" and j.get("CompletionDate")]
    recent = [j for j in done if j["CompletionDate"] >= since]
    return sorted(recent, key=lambda j: j["CompletionDate"], reverse=True)


def _job(job: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "restore_job": job.get("RestoreJobId"),
        "resource_type": job.get("ResourceType"),
        "recovery_point": job.get("RecoveryPointArn"),
        "created": job["CreationDate"].isoformat(),
        "completed": job["CompletionDate"].isoformat(),
        "duration_hours": hours(job["CompletionDate"] - job["CreationDate"]),
    }


@check(
    id="backup_restore_tested",
    title="Restores are tested",
    severity=Severity.MEDIUM,
    criteria=("TEC-001.2",),
    permissions=(
        "backup:ListRestoreTestingPlans",
        "backup:ListRestoreTestingSelections",
        "backup:ListRestoreJobs",
    ),
    scope=Scope.REGIONAL,
    remediation="Create an AWS Backup restore testing plan with at least one restore testing selection "
    "(aws backup create-restore-testing-plan, create-restore-testing-selection) or restore a recovery point "
    "and validate it at least every 90 days.",
)
def backup_restore_tested(ctx: CheckContext) -> Iterator[Finding]:
    """A backup never restored is a hope, not a recovery process. The region passes when an AWS
    Backup restore testing plan with at least one restore testing selection exists (a plan that
    selects nothing restores nothing: it does not count, and the message names it), or a restore
    job completed in the last 90 days (setting ``restore_test_days``). Restores done outside AWS
    Backup (e.g. RDS point-in-time restores by hand) are not seen here and need manual evidence."""
    days = int(ctx.setting("restore_test_days", 90))
    plans = ctx.read("backup", "ListRestoreTestingPlans").get("RestoreTestingPlans", [])
    selections = {
        str(p["RestoreTestingPlanName"]): ctx.read(
            "backup", "ListRestoreTestingSelections", RestoreTestingPlanName=p["RestoreTestingPlanName"]
        ).get("RestoreTestingSelections", [])
        for p in plans
    }
    restores = completed_restores(ctx, days)
    evidence = {
        "restore_testing_plans": [
            {
                "name": p.get("RestoreTestingPlanName"),
                "arn": p.get("RestoreTestingPlanArn"),
                "schedule": p.get("ScheduleExpression"),
                "selections": [
                    {"name": sel.get("RestoreTestingSelectionName"), "resource_type": sel.get("ProtectedResourceType")}
                    for sel in selections[str(p["RestoreTestingPlanName"])]
                ],
            }
            for p in plans
        ],
        "completed_restores": [_job(j) for j in restores[:10]],
        "completed_restores_count": len(restores),
        "window_days": days,
    }
    selecting = [name for name, chosen in selections.items() if chosen]
    empty = [name for name, chosen in selections.items() if not chosen]
    idle = f"restore testing plan(s) {', '.join(empty)} select nothing" if empty else ""
    if selecting:
        names = ", ".join(f"{n} ({len(selections[n])} selection(s))" for n in selecting)
        note = f"; {idle}" if idle else ""
        yield ctx.finding(Status.PASS, message=f"Restore testing plan(s): {names}{note}.", evidence=evidence)
    elif restores:
        latest = restores[0]
        note = f" ({idle})" if idle else ""
        yield ctx.finding(
            Status.PASS,
            evidence=evidence,
            message=f"{len(restores)} restore job(s) completed in the "
            f"last {days} days, latest {latest['RestoreJobId']} on {latest['CompletionDate']:%Y-%m-%d}{note}.",
        )
    elif empty:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message=f"{idle[0].upper()}{idle[1:]} (no restore testing selection, so they restore nothing) "
            f"and no restore job completed in the last {days} days.",
        )
    else:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message=f"No restore testing plan and no restore job completed in the last {days} days.",
        )


def native_pitr(ctx: CheckContext, store: DataStore) -> str | None:
    """The store's own point-in-time restore, outside AWS Backup, or None. RDS and Aurora with
    automated backups (retention > 0) restore to any second of the retention period, their
    transaction logs reaching S3 every 5 minutes
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html); DynamoDB
    point-in-time recovery restores to any second of its recovery period, read with
    DescribeContinuousBackups (the parameters of checks/dynamodb.py, one cached call).
    Raises CallFailed."""
    if store.backup_type in ("RDS", "Aurora") and store.retention_days:
        return (
            f"{store.backup_type} automated backups kept {store.retention_days} day(s): point-in-time "
            "restore, transaction logs uploaded every 5 minutes"
        )
    if store.backup_type == "DynamoDB":
        answer = ctx.read("dynamodb", "DescribeContinuousBackups", TableName=store.name)
        pitr = answer.get("ContinuousBackupsDescription", {}).get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            period = pitr.get("RecoveryPeriodInDays")
            within = f", recovery period {period} days" if period else ""
            return f"DynamoDB point-in-time recovery enabled{within}: restore to any second, ~5 minutes behind"
    return None


def _rpo_figures(achievable: timedelta | None, observed: timedelta | None) -> str:
    rpo = "unknown" if achievable is None else f"{hours(achievable)} h"
    rto = "never measured" if observed is None else f"{hours(observed)} h"
    return f"achievable RPO {rpo}, slowest restore {rto}"


@check(
    id="backup_rpo_rto_targets",
    title="Declared RPO and RTO targets are met by backup schedules and observed restores",
    severity=Severity.MEDIUM,
    criteria=("REL-002.1", "TEC-001.3"),
    permissions=(*INVENTORY_PERMISSIONS, "dynamodb:DescribeContinuousBackups", "backup:ListRestoreJobs"),
    scope=Scope.REGIONAL,
    remediation="Declare the targets (govscan --set rpo_hours=N --set rto_hours=N, or the accounts file), "
    "make the backup rules at least that frequent, and validate the RTO with a timed restore "
    "(restore testing plan).",
)
def backup_rpo_rto_targets(ctx: CheckContext) -> Iterator[Finding]:
    """REL-002.1 asks for RTO and RPO targets and TEC-001.3 for their validation. The achievable
    RPO of a data store is the best of: AWS Backup continuous backup (about 5 minutes); the
    longest gap between the merged runs of every snapshot rule of every plan covering it, plus
    the largest start window of those rules (a job may start that late; AWS's default is 8
    hours); the store's own point-in-time restore (RDS automated backups with a retention, DynamoDB
    point-in-time recovery: about 5 minutes). The region's RPO is the worst over its data stores;
    read replicas that no plan covers are left out (protected through their source). The
    observed RTO is the longest restore job (CompletionDate - CreationDate) completed in the last
    365 days. Without declared targets (settings ``rpo_hours``/``rto_hours``) the finding FAILs,
    showing the achievable figures: the criterion requires declared targets, and NOT_APPLICABLE
    would hide the gap. A declared RTO with no completed restore to measure also FAILs (not
    validated). A region without any data store is NOT_APPLICABLE."""
    target_rpo, target_rto = ctx.setting("rpo_hours", None), ctx.setting("rto_hours", None)
    cov = coverage(ctx)
    replicas = [s for s in cov.stores if s.replica_of and s.arn not in cov.covers]
    stores = [s for s in cov.stores if s not in replicas]
    if not stores:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message="No RDS, EBS, EFS or DynamoDB data store in this region"
            f"{' other than read replicas' if replicas else ''}: no RPO or RTO to validate here.",
            evidence={"read_replicas_excluded": [s.arn for s in replicas]},
        )
        return
    per_store: dict[str, dict[str, Any]] = {}
    rpo_of: dict[str, timedelta | None] = {}
    for store in stores:
        covers = cov.covers.get(store.arn)
        guard = protection(store, covers, ctx.now) if covers else None
        rpo = guard.rpo if guard else None
        basis = guard.basis if guard else "in no backup plan"
        if rpo is None or rpo > CONTINUOUS_RPO:
            native = native_pitr(ctx, store)
            if native:
                rpo, basis = CONTINUOUS_RPO, native
        rpo_of[store.arn] = rpo
        per_store[store.arn] = {
            "resource": store.label,
            "rpo_hours": hours(rpo),
            "basis": basis,
            "until": guard.until.isoformat() if guard and guard.until and rpo != CONTINUOUS_RPO else None,
        }
    without = [s for s in stores if rpo_of[s.arn] is None]
    unprotected = [s for s in without if s.arn not in cov.covers]
    unbounded = [s for s in without if s.arn in cov.covers]
    # Any data store without a recurring backup has no RPO at all: the region's figure is unknown.
    known = [v for v in rpo_of.values() if v is not None]
    achievable = max(known) if known and not without else None
    restores = completed_restores(ctx, 365)
    slowest = max(restores, key=lambda j: j["CompletionDate"] - j["CreationDate"], default=None)
    observed = None if slowest is None else slowest["CompletionDate"] - slowest["CreationDate"]
    ending = sorted(str(e["until"]) for e in per_store.values() if e["until"])
    evidence = {
        "declared": {"rpo_hours": target_rpo, "rto_hours": target_rto},
        "achievable_rpo_hours": hours(achievable),
        "rpo_by_data_store_hours": {arn: entry["rpo_hours"] for arn, entry in sorted(per_store.items())},
        "data_stores": dict(sorted(per_store.items())),
        "unprotected_data_stores": [s.arn for s in unprotected],
        "data_stores_without_recurring_schedule": [s.arn for s in unbounded],
        "read_replicas_excluded": [s.arn for s in replicas],
        "observed_rto_hours": hours(observed),
        "slowest_restore": None if slowest is None else _job(slowest),
        "restores_measured": len(restores),
    }
    figures = _rpo_figures(achievable, observed)
    if ending:
        figures += f"; backup schedules end on {ending[0]}"
    problems: list[str] = []
    if target_rpo is None or target_rto is None:
        missing = " and ".join(n for n, v in (("RPO", target_rpo), ("RTO", target_rto)) if v is None)
        problems.append(f"no {missing} target declared (REL-002.1 requires declared targets)")
    if target_rpo is not None:
        if achievable is None:
            names = ", ".join(s.label for s in without[:5])
            problems.append(f"{len(without)} data store(s) have no recurring backup ({names}), so no RPO can be met")
        elif achievable > timedelta(hours=float(target_rpo)):
            problems.append(
                f"backups can be up to {hours(achievable)} h apart (schedule gap plus start window), "
                f"above the {target_rpo} h RPO"
            )
    if target_rto is not None:
        if observed is None:
            problems.append("no completed restore in 365 days validates the RTO")
        elif observed > timedelta(hours=float(target_rto)):
            problems.append(f"the slowest restore took {hours(observed)} h, above the {target_rto} h RTO")
    if problems:
        text = "; ".join(problems)
        yield ctx.finding(Status.FAIL, message=f"{text[0].upper()}{text[1:]} ({figures}).", evidence=evidence)
    else:
        yield ctx.finding(
            Status.PASS,
            evidence=evidence,
            message=f"Targets RPO {target_rpo} h / RTO {target_rto} h are met ({figures}).",
        )
