"""AWS Backup: coverage, recent recovery points, protected vaults (TEC-001.1), restore testing
(TEC-001.2) and RPO/RTO targets (REL-002.1, TEC-001.3).

The inventory of data stores and plan selections is in :mod:`checks._backup_inventory`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from checks._backup_inventory import INVENTORY_PERMISSIONS, best_rpo, coverage, hours
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
    Read replicas are reported not applicable (protected through their source)."""
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
        where = {"resource_id": store.arn, "resource_type": store.resource_type}
        if store.replica_of and not covers:
            message = f"{store.name} is a read replica of {store.replica_of}: back up its source."
            yield ctx.finding(
                Status.NOT_APPLICABLE,
                message=message,
                evidence={**base, "replica_of": store.replica_of},
                **where,
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
                **where,
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
                **where,
            )


@check(
    id="backup_recent_recovery_points",
    title="Protected data stores have a recent completed recovery point",
    severity=Severity.HIGH,
    criteria=("TEC-001.1",),
    permissions=(*INVENTORY_PERMISSIONS, "backup:ListRecoveryPointsByResource"),
    scope=Scope.REGIONAL,
    remediation="Find why the backup jobs fail or do not run (aws backup list-backup-jobs --by-resource-arn "
    "...): the selection's IAM role, the target vault, the rule's start and completion windows.",
)
def backup_recent_recovery_points(ctx: CheckContext) -> Iterator[Finding]:
    """A plan that exists but whose jobs fail protects nothing. For each data store assigned to a
    plan, the newest COMPLETED recovery point must be younger than twice the longest gap between
    the runs of its most frequent rule (one missed run is tolerated, two are not). A store created
    within that window and without a recovery point yet passes as not yet due."""
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
        rpo, rules = best_rpo(store, cov.covers[store.arn])
        try:
            answer = ctx.read("backup", "ListRecoveryPointsByResource", ResourceArn=store.arn)
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=store.arn, resource_type=store.resource_type)
            continue
        points = answer.get("RecoveryPoints", [])
        completed = sorted(
            (p for p in points if p.get("Status") == "COMPLETED"), key=lambda p: p["CreationDate"]
        )
        latest = completed[-1] if completed else None
        window = None if rpo is None else 2 * rpo
        age = None if latest is None else ctx.now - latest["CreationDate"]
        evidence: dict[str, Any] = {
            "resource": store.name,
            "rules": rules,
            "allowed_age_hours": hours(window),
            "latest_completed": None
            if latest is None
            else {
                "recovery_point": latest["RecoveryPointArn"],
                "created": latest["CreationDate"].isoformat(),
                "age_hours": hours(age),
                "vault": latest.get("BackupVaultName"),
            },
            "other_statuses": sorted({str(p.get("Status")) for p in points} - {"COMPLETED"}),
        }

        young = store.created is not None and window is not None and ctx.now - store.created <= window
        if window is None:
            status, message = Status.FAIL, "no rule of its plans recurs on a parsable schedule."
        elif age is not None and age <= window:
            status = Status.PASS
            message = f"latest completed recovery point is {hours(age)} h old (allowed {hours(window)} h)."
        elif latest is None and young:
            status = Status.PASS
            message = f"created less than {hours(window)} h ago; its first backup is not yet due."
        else:
            seen = "none completed" if age is None else f"latest is {hours(age)} h old"
            status, message = Status.FAIL, f"no completed recovery point within {hours(window)} h ({seen})."
        yield ctx.finding(
            status,
            resource_id=store.arn,
            resource_type=store.resource_type,
            message=f"{store.name}: {message}",
            evidence=evidence,
        )


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
    permissions=("backup:ListRestoreTestingPlans", "backup:ListRestoreJobs"),
    scope=Scope.REGIONAL,
    remediation="Create an AWS Backup restore testing plan (aws backup create-restore-testing-plan) or "
    "restore a recovery point and validate it at least every 90 days.",
)
def backup_restore_tested(ctx: CheckContext) -> Iterator[Finding]:
    """A backup never restored is a hope, not a recovery process. The region passes when an AWS
    Backup restore testing plan exists, or a restore job completed in the last 90 days (setting
    ``restore_test_days``). Restores done outside AWS Backup (e.g. RDS point-in-time restores by
    hand) are not seen here and need manual evidence."""
    days = int(ctx.setting("restore_test_days", 90))
    plans = ctx.read("backup", "ListRestoreTestingPlans").get("RestoreTestingPlans", [])
    restores = completed_restores(ctx, days)
    evidence = {
        "restore_testing_plans": [
            {
                "name": p.get("RestoreTestingPlanName"),
                "arn": p.get("RestoreTestingPlanArn"),
                "schedule": p.get("ScheduleExpression"),
            }
            for p in plans
        ],
        "completed_restores": [_job(j) for j in restores[:10]],
        "completed_restores_count": len(restores),
        "window_days": days,
    }
    if plans:
        names = ", ".join(str(p.get("RestoreTestingPlanName")) for p in plans)
        yield ctx.finding(Status.PASS, message=f"Restore testing plan(s): {names}.", evidence=evidence)
    elif restores:
        latest = restores[0]
        yield ctx.finding(
            Status.PASS,
            evidence=evidence,
            message=f"{len(restores)} restore job(s) completed in the "
            f"last {days} days, latest {latest['RestoreJobId']} on {latest['CompletionDate']:%Y-%m-%d}.",
        )
    else:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message=f"No restore testing plan and no restore job completed in the last {days} days.",
        )


@check(
    id="backup_rpo_rto_targets",
    title="Declared RPO and RTO targets are met by backup schedules and observed restores",
    severity=Severity.MEDIUM,
    criteria=("REL-002.1", "TEC-001.3"),
    permissions=(*INVENTORY_PERMISSIONS, "backup:ListRestoreJobs"),
    scope=Scope.REGIONAL,
    remediation="Declare the targets (govscan --set rpo_hours=N --set rto_hours=N, or the accounts file), "
    "make the backup rules at least that frequent, and validate the RTO with a timed restore "
    "(restore testing plan).",
)
def backup_rpo_rto_targets(ctx: CheckContext) -> Iterator[Finding]:
    """REL-002.1 asks for RTO and RPO targets and TEC-001.3 for their validation. The achievable
    RPO of a data store is the longest gap between its most frequent rule's runs (about 5 minutes
    with continuous backup); the region's is the worst over its protected stores. The observed RTO
    is the longest restore job (CompletionDate - CreationDate) completed in the last 365 days.
    Without declared targets (settings ``rpo_hours``/``rto_hours``) the finding FAILs, showing
    the achievable figures: the criterion requires declared targets, and NOT_APPLICABLE would hide
    the gap. A declared RTO with no completed restore to measure also FAILs (not validated)."""
    target_rpo, target_rto = ctx.setting("rpo_hours", None), ctx.setting("rto_hours", None)
    cov = coverage(ctx)
    per_store = {s.name: best_rpo(s, cov.covers[s.arn])[0] for s in cov.stores if s.arn in cov.covers}
    unprotected = sorted(s.name for s in cov.stores if s.arn not in cov.covers)
    unbounded = sorted(name for name, v in per_store.items() if v is None)
    known = [v for v in per_store.values() if v is not None]
    # Any data store without a recurring backup has no RPO at all: the region's figure is unknown.
    achievable = max(known) if known and not unprotected and not unbounded else None
    restores = completed_restores(ctx, 365)
    slowest = max(restores, key=lambda j: j["CompletionDate"] - j["CreationDate"], default=None)
    observed = None if slowest is None else slowest["CompletionDate"] - slowest["CreationDate"]
    evidence = {
        "declared": {"rpo_hours": target_rpo, "rto_hours": target_rto},
        "achievable_rpo_hours": hours(achievable),
        "rpo_by_data_store_hours": {name: hours(v) for name, v in sorted(per_store.items())},
        "unprotected_data_stores": unprotected,
        "data_stores_without_recurring_schedule": unbounded,
        "observed_rto_hours": hours(observed),
        "slowest_restore": None if slowest is None else _job(slowest),
        "restores_measured": len(restores),
    }
    figures = (
        f"achievable RPO {hours(achievable) if achievable else 'unknown'} h, "
        f"slowest restore {hours(observed) if observed else 'never measured'} h"
    )
    problems: list[str] = []
    if target_rpo is None or target_rto is None:
        missing = " and ".join(n for n, v in (("RPO", target_rpo), ("RTO", target_rto)) if v is None)
        problems.append(f"no {missing} target declared (REL-002.1 requires declared targets)")
    if target_rpo is not None and cov.stores:
        if achievable is None:
            without = [*unprotected, *unbounded]
            problems.append(
                f"{len(without)} data store(s) have no recurring backup ({', '.join(without[:5])}), "
                "so no RPO can be met"
            )
        elif achievable > timedelta(hours=float(target_rpo)):
            problems.append(f"backups run up to {hours(achievable)} h apart, above the {target_rpo} h RPO")
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
