"""What AWS Backup protects in a region: the data stores, the plans' selections, their rules.

Shared by the checks of :mod:`checks.backup` (a private module: ``load_checks`` skips names
starting with ``_``). The selection semantics live in :mod:`scanner.analysis.backup_selection`,
schedule arithmetic in :mod:`scanner.analysis.schedule`. Reads go through ``ctx.read`` with the
same parameters in every check, so the gateway's cache makes the inventory cost one set of calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from checks._instances import instances
from scanner.analysis.backup_selection import match_selection
from scanner.analysis.schedule import ScheduleError, merged_max_interval, parse_schedule
from scanner.context import CheckContext

DEFAULT_SCHEDULE = "cron(0 5 ? * * *)"  # AWS Backup's default when a rule names none (05:00 UTC daily)
# "A value in minutes after a backup is scheduled before a job will be canceled if it doesn't
# start successfully. This value is optional, and the default is 8 hours."
# https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupRule.html
DEFAULT_START_WINDOW = timedelta(hours=8)
CONTINUOUS_RPO = timedelta(minutes=5)  # point-in-time restore granularity of continuous backup
CONTINUOUS_TYPES = frozenset({"RDS", "Aurora"})
# A continuous recovery point's ARN reads ...:recovery-point:continuous:<id>; the listing has no
# other field telling continuous from snapshot points.
CONTINUOUS_POINT = ":recovery-point:continuous:"
# Types whose opt-in matters even when a selection names them explicitly (assigning-resources.html).
ALWAYS_OPT_IN = frozenset({"Aurora"})
INVENTORY_PERMISSIONS = (
    "backup:ListBackupPlans",
    "backup:GetBackupPlan",
    "backup:ListBackupSelections",
    "backup:GetBackupSelection",
    "backup:DescribeRegionSettings",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "ec2:DescribeVolumes",
    "ec2:DescribeInstances",
    "elasticfilesystem:DescribeFileSystems",
    "dynamodb:ListTables",
    "dynamodb:ListTagsOfResource",
)


@dataclass
class DataStore:
    arn: str
    name: str
    backup_type: str  # AWS Backup's resource type name: EBS, RDS, Aurora, EFS, DynamoDB
    resource_type: str  # CloudFormation type, for the finding
    created: datetime | None  # None for DynamoDB until read (DescribeTable costs a call per table)
    tags: dict[str, str] | None  # None: not read yet (DynamoDB tags cost a call per table)
    replica_of: str | None = None
    instances: tuple[str, ...] = ()  # EBS: the EC2 instances the volume is attached to
    retention_days: int | None = None  # RDS: automated backup retention (point-in-time restore when > 0)

    @property
    def label(self) -> str:
        return f"{self.backup_type} {self.name}"


@dataclass
class Cover:
    plan_id: str
    plan_name: str
    selection_id: str
    selection_name: str
    matched_by: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    via_instance: str | None = None  # EBS: the selection picks the EC2 instance the volume is attached to

    def evidence(self) -> dict[str, str]:
        found = {
            "plan": self.plan_name,
            "plan_id": self.plan_id,
            "selection": self.selection_name,
            "selection_id": self.selection_id,
            "matched_by": self.matched_by,
        }
        if self.via_instance:
            found["via_instance"] = self.via_instance
        return found


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or []}


def data_stores(ctx: CheckContext) -> list[DataStore]:
    """RDS instances and clusters, EBS volumes, EFS file systems and DynamoDB tables of the region.

    Instances inside a cluster are protected with their cluster (AWS Backup backs Aurora and
    Multi-AZ DB clusters up as clusters); Neptune and DocumentDB clusters are not counted.
    """
    stores: list[DataStore] = []
    for db in ctx.read("rds", "DescribeDBInstances").get("DBInstances", []):
        if db.get("DBClusterIdentifier"):
            continue
        stores.append(
            DataStore(
                db["DBInstanceArn"],
                db["DBInstanceIdentifier"],
                "RDS",
                "AWS::RDS::DBInstance",
                db.get("InstanceCreateTime"),
                _tags(db.get("TagList")),
                replica_of=db.get("ReadReplicaSourceDBInstanceIdentifier"),
                retention_days=db.get("BackupRetentionPeriod"),
            )
        )
    for cluster in ctx.read("rds", "DescribeDBClusters").get("DBClusters", []):
        engine = str(cluster.get("Engine", ""))
        if engine in ("neptune", "docdb"):
            continue
        stores.append(
            DataStore(
                cluster["DBClusterArn"],
                cluster["DBClusterIdentifier"],
                "Aurora" if engine.startswith("aurora") else "RDS",
                "AWS::RDS::DBCluster",
                cluster.get("ClusterCreateTime"),
                _tags(cluster.get("TagList")),
                retention_days=cluster.get("BackupRetentionPeriod"),
            )
        )
    for volume in ctx.read("ec2", "DescribeVolumes").get("Volumes", []):
        attached = tuple(
            str(a["InstanceId"])
            for a in volume.get("Attachments", [])
            if a.get("InstanceId") and a.get("State") in ("attached", "attaching")
        )
        stores.append(
            DataStore(
                ctx.arn("ec2", f"volume/{volume['VolumeId']}"),
                volume["VolumeId"],
                "EBS",
                "AWS::EC2::Volume",
                volume.get("CreateTime"),
                _tags(volume.get("Tags")),
                instances=attached,
            )
        )
    for fs in ctx.read("efs", "DescribeFileSystems").get("FileSystems", []):
        stores.append(
            DataStore(
                fs["FileSystemArn"],
                fs["FileSystemId"],
                "EFS",
                "AWS::EFS::FileSystem",
                fs.get("CreationTime"),
                _tags(fs.get("Tags")),
            )
        )
    for table in ctx.read("dynamodb", "ListTables").get("TableNames", []):
        stores.append(
            DataStore(
                ctx.arn("dynamodb", f"table/{table}"), table, "DynamoDB", "AWS::DynamoDB::Table", None, None
            )
        )
    return stores


def store_tags(ctx: CheckContext, store: DataStore) -> dict[str, str]:
    if store.tags is None:
        store.tags = _tags(ctx.read("dynamodb", "ListTagsOfResource", ResourceArn=store.arn).get("Tags"))
    return store.tags


def created_at(ctx: CheckContext, store: DataStore) -> datetime | None:
    """When the store was created. DynamoDB's listing has no date: DescribeTable (with the same
    parameters as checks/dynamodb.py, so one cached call serves both) gives CreationDateTime.
    Raises CallFailed."""
    if store.created is None and store.backup_type == "DynamoDB":
        table = ctx.read("dynamodb", "DescribeTable", TableName=store.name).get("Table", {})
        store.created = table.get("CreationDateTime")
    return store.created


@dataclass
class Assignment:
    plan_id: str
    plan_name: str
    selection_id: str
    selection: dict[str, Any]
    rules: list[dict[str, Any]]


def assignments(ctx: CheckContext) -> list[Assignment]:
    """Every selection of every (not deleted) backup plan of the region, with its plan's rules."""
    found: list[Assignment] = []
    for plan in ctx.read("backup", "ListBackupPlans").get("BackupPlansList", []):
        plan_id = plan["BackupPlanId"]
        body = ctx.read("backup", "GetBackupPlan", BackupPlanId=plan_id).get("BackupPlan", {})
        for listed in ctx.read("backup", "ListBackupSelections", BackupPlanId=plan_id).get(
            "BackupSelectionsList", []
        ):
            answer = ctx.read(
                "backup", "GetBackupSelection", BackupPlanId=plan_id, SelectionId=listed["SelectionId"]
            )
            found.append(
                Assignment(
                    plan_id,
                    str(body.get("BackupPlanName", plan.get("BackupPlanName", plan_id))),
                    listed["SelectionId"],
                    answer.get("BackupSelection", {}),
                    list(body.get("Rules", [])),
                )
            )
    return found


@dataclass
class Coverage:
    stores: list[DataStore]
    covers: dict[str, list[Cover]]  # data store ARN -> the selections that protect it
    opted_out: dict[str, list[str]]  # data store ARN -> selections that would match but the type is opted out
    plans: int


class _InstanceTags:
    """EC2 instance tags, read once and only when a selection's tag filter needs them
    (DescribeInstances without parameters, as the other checks read it, so the cache serves all)."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.by_id: dict[str, dict[str, str]] | None = None

    def __call__(self, instance_id: str) -> dict[str, str]:
        if self.by_id is None:
            self.by_id = {str(i["InstanceId"]): _tags(i.get("Tags")) for i in instances(self.ctx)}
        return self.by_id.get(instance_id, {})


def coverage(ctx: CheckContext) -> Coverage:
    """Which selections protect each data store. An EBS volume attached to an EC2 instance is
    also protected by a selection that picks the instance (by ARN pattern, ARN or the instance's
    tags): AWS Backup backs an instance up as an AMI, and "creating an AMI results in a new snapshot
    for each EBS volume that is attached to the instance"
    (https://docs.aws.amazon.com/prescriptive-guidance/latest/backup-recovery/new-ebs-volume-backups.html).
    Assumed: no volume is excluded from the instance's backup."""
    stores = data_stores(ctx)
    chosen = assignments(ctx)
    opt_in: dict[str, bool] = {}
    if chosen:
        opt_in = ctx.read("backup", "DescribeRegionSettings").get("ResourceTypeOptInPreference", {})
    instance_tags = _InstanceTags(ctx)
    covers: dict[str, list[Cover]] = {}
    opted_out: dict[str, list[str]] = {}
    for store in stores:
        candidates: list[tuple[str, str, Callable[[], Mapping[str, str]], str | None]] = [
            (store.arn, store.backup_type, partial(store_tags, ctx, store), None)
        ]
        for attached_to in store.instances:
            instance_arn = ctx.arn("ec2", f"instance/{attached_to}")
            candidates.append((instance_arn, "EC2", partial(instance_tags, attached_to), attached_to))
        for a in chosen:
            name = str(a.selection.get("SelectionName", a.selection_id))
            for arn, backup_type, tags, instance_id in candidates:
                match = match_selection(a.selection, arn, tags)
                if match is None:
                    continue
                via = f" (via EC2 instance {instance_id})" if instance_id else ""
                needs_opt_in = not match.explicit_type or backup_type in ALWAYS_OPT_IN
                if needs_opt_in and not opt_in.get(backup_type, False):
                    opted_out.setdefault(store.arn, []).append(f"{a.plan_name}/{name}{via}")
                    continue
                matched_by = match.matched_by
                if instance_id:
                    matched_by = (
                        f"EC2 instance {instance_id} by {match.matched_by}: AWS Backup backs the "
                        "instance up with all its attached EBS volumes"
                    )
                cover = Cover(a.plan_id, a.plan_name, a.selection_id, name, matched_by, a.rules)
                cover.via_instance = arn if instance_id else None
                covers.setdefault(store.arn, []).append(cover)
    return Coverage(stores, covers, opted_out, len({a.plan_id for a in chosen}))


def is_continuous(rule: Mapping[str, Any], store: DataStore) -> bool:
    """Continuous backup applies to the types that support it; for the others AWS Backup takes
    snapshots on the rule's schedule."""
    return bool(rule.get("EnableContinuousBackup")) and store.backup_type in CONTINUOUS_TYPES


def _start_window(rule: Mapping[str, Any]) -> timedelta:
    minutes = rule.get("StartWindowMinutes")
    return DEFAULT_START_WINDOW if minutes is None else timedelta(minutes=int(minutes))


@dataclass
class Protection:
    """What the AWS Backup rules covering one data store give it."""

    rules: list[dict[str, Any]]  # evidence, one entry per distinct rule
    continuous_rules: list[str]  # "plan/rule" giving continuous backup to this store
    snapshot_rules: list[str]  # "plan/rule" whose schedules make snapshots now
    snapshot_gap: timedelta | None  # longest gap in the merged runs of the snapshot rules
    start_window: timedelta | None  # the largest start window of those rules
    until: date | None  # the merged snapshot schedule stops after this day (bounded year fields)
    continuous_gap: timedelta | None  # merged schedule of the continuous rules (their first backup)

    @property
    def rpo(self) -> timedelta | None:
        if self.continuous_rules:
            return CONTINUOUS_RPO
        if self.snapshot_gap is None or self.start_window is None:
            return None
        return self.snapshot_gap + self.start_window

    @property
    def basis(self) -> str:
        if self.continuous_rules:
            return f"AWS Backup continuous backup ({', '.join(self.continuous_rules)}): point-in-time restore"
        if self.snapshot_gap is None or self.start_window is None:
            return "no rule recurs now on a parsable schedule (see the rules)"
        until = f", until {self.until.isoformat()}" if self.until else ""
        return (
            f"longest gap {hours(self.snapshot_gap)} h between the merged runs of {', '.join(self.snapshot_rules)}"
            f"{until}, plus a start window of up to {hours(self.start_window)} h"
        )


def protection(store: DataStore, covers: list[Cover], now: datetime) -> Protection:
    """Merge every rule of every plan covering ``store``: continuous rules (for the types that
    support it) give a ~5 minute RPO; the snapshot rules' schedules merge into one run sequence,
    whose longest gap plus the largest start window (a job may start that late) bounds the RPO."""
    today = now.date()
    rules: list[dict[str, Any]] = []
    continuous: list[str] = []
    continuous_schedules: list[str] = []
    snapshot: list[tuple[str, str, timedelta]] = []  # (label, expression, start window)
    seen: set[tuple[str, str]] = set()
    for cover in covers:
        for rule in cover.rules:
            key = (cover.plan_id, str(rule.get("RuleId") or rule.get("RuleName")))
            if key in seen:
                continue
            seen.add(key)
            label = f"{cover.plan_name}/{rule.get('RuleName')}"
            expression = str(rule.get("ScheduleExpression") or DEFAULT_SCHEDULE)
            entry: dict[str, Any] = {
                "plan": cover.plan_name,
                "rule": rule.get("RuleName"),
                "schedule": expression,
                "continuous": is_continuous(rule, store),
                "start_window_hours": hours(_start_window(rule)),
            }
            rules.append(entry)
            if is_continuous(rule, store):
                continuous.append(label)  # its schedule only times the first backup
            try:
                schedule = parse_schedule(expression)
            except ScheduleError as exc:
                entry["ignored" if not entry["continuous"] else "schedule_problem"] = f"unparsable schedule: {exc}"
                continue
            entry["max_interval_hours"] = hours(schedule.max_interval)
            entry["until"] = schedule.ends.isoformat() if schedule.ends else None
            if entry["continuous"]:
                continuous_schedules.append(expression)
            elif schedule.kind == "at":
                entry["ignored"] = "runs once (at)"
            elif schedule.ends is not None and schedule.ends < today:
                entry["ignored"] = f"schedule ended on {schedule.ends.isoformat()}"
            elif schedule.starts is not None and schedule.starts > today:
                entry["ignored"] = f"schedule starts on {schedule.starts.isoformat()}"
            else:
                snapshot.append((label, expression, _start_window(rule)))
    expressions = [expression for _, expression, _ in snapshot]
    gap = merged_max_interval(expressions, since=today) if snapshot else None
    ends = [parse_schedule(e).ends for e in expressions]
    return Protection(
        rules=rules,
        continuous_rules=continuous,
        snapshot_rules=[label for label, _, _ in snapshot],
        snapshot_gap=gap,
        start_window=max((window for _, _, window in snapshot), default=None),
        until=None if not ends or None in ends else max(e for e in ends if e is not None),
        continuous_gap=merged_max_interval(continuous_schedules, since=today) if continuous_schedules else None,
    )


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 3)
