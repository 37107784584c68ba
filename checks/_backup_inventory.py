"""What AWS Backup protects in a region: the data stores, the plans' selections, their rules.

Shared by the checks of :mod:`checks.backup` (a private module: ``load_checks`` skips names
starting with ``_``). The selection semantics live in :mod:`scanner.analysis.backup_selection`,
schedule arithmetic in :mod:`scanner.analysis.schedule`. Reads go through ``ctx.read`` with the
same parameters in every check, so the gateway's cache makes the inventory cost one set of calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from scanner.analysis.backup_selection import match_selection
from scanner.analysis.schedule import ScheduleError, parse_schedule
from scanner.context import CheckContext

DEFAULT_SCHEDULE = "cron(0 5 ? * * *)"  # AWS Backup's default when a rule names none (05:00 UTC daily)
CONTINUOUS_RPO = timedelta(minutes=5)  # point-in-time restore granularity of continuous backup
CONTINUOUS_TYPES = frozenset({"RDS", "Aurora"})
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
    created: datetime | None
    tags: dict[str, str] | None  # None: not read yet (DynamoDB tags cost a call per table)
    replica_of: str | None = None


@dataclass
class Cover:
    plan_id: str
    plan_name: str
    selection_id: str
    selection_name: str
    matched_by: str
    rules: list[dict[str, Any]] = field(default_factory=list)

    def evidence(self) -> dict[str, str]:
        return {
            "plan": self.plan_name,
            "plan_id": self.plan_id,
            "selection": self.selection_name,
            "selection_id": self.selection_id,
            "matched_by": self.matched_by,
        }


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
            )
        )
    for volume in ctx.read("ec2", "DescribeVolumes").get("Volumes", []):
        stores.append(
            DataStore(
                ctx.arn("ec2", f"volume/{volume['VolumeId']}"),
                volume["VolumeId"],
                "EBS",
                "AWS::EC2::Volume",
                volume.get("CreateTime"),
                _tags(volume.get("Tags")),
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


def coverage(ctx: CheckContext) -> Coverage:
    stores = data_stores(ctx)
    chosen = assignments(ctx)
    opt_in: dict[str, bool] = {}
    if chosen:
        opt_in = ctx.read("backup", "DescribeRegionSettings").get("ResourceTypeOptInPreference", {})
    covers: dict[str, list[Cover]] = {}
    opted_out: dict[str, list[str]] = {}
    for store in stores:
        for a in chosen:
            match = match_selection(a.selection, store.arn, partial(store_tags, ctx, store))
            if match is None:
                continue
            name = str(a.selection.get("SelectionName", a.selection_id))
            needs_opt_in = not match.explicit_type or store.backup_type in ALWAYS_OPT_IN
            if needs_opt_in and not opt_in.get(store.backup_type, False):
                opted_out.setdefault(store.arn, []).append(f"{a.plan_name}/{name}")
                continue
            covers.setdefault(store.arn, []).append(
                Cover(a.plan_id, a.plan_name, a.selection_id, name, match.matched_by, a.rules)
            )
    return Coverage(stores, covers, opted_out, len({a.plan_id for a in chosen}))


def rule_rpo(rule: Mapping[str, Any], store: DataStore) -> tuple[timedelta | None, str]:
    """The longest time between two recovery points this rule makes for ``store`` (and why)."""
    if rule.get("EnableContinuousBackup") and store.backup_type in CONTINUOUS_TYPES:
        return CONTINUOUS_RPO, "continuous backup (point-in-time restore)"
    expression = str(rule.get("ScheduleExpression") or DEFAULT_SCHEDULE)
    try:
        return parse_schedule(expression).max_interval, expression
    except ScheduleError as exc:
        return None, f"unparsable schedule: {exc}"


def best_rpo(store: DataStore, covers: list[Cover]) -> tuple[timedelta | None, list[dict[str, Any]]]:
    """The shortest RPO any covering rule gives ``store``, with every rule's figure as evidence."""
    best: timedelta | None = None
    rules: list[dict[str, Any]] = []
    for cover in covers:
        for rule in cover.rules:
            rpo, basis = rule_rpo(rule, store)
            rules.append(
                {
                    "plan": cover.plan_name,
                    "rule": rule.get("RuleName"),
                    "basis": basis,
                    "max_interval_hours": None if rpo is None else round(rpo.total_seconds() / 3600, 3),
                }
            )
            if rpo is not None and (best is None or rpo < best):
                best = rpo
    return best, rules


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 3)
