"""Amazon RDS (and Aurora): encryption at rest (NETSEC-002.3), Multi-AZ (REL-002.2, DOC-001.2) and
automated backups (TEC-001.1).

What is judged: every DB cluster (Aurora, Multi-AZ DB clusters) and every DB instance that is not
a member of a cluster. A cluster member's storage, availability and backups are properties of its
cluster (its ``StorageEncrypted`` and ``BackupRetentionPeriod`` mirror the cluster's), so members
are judged through the cluster and listed in its evidence; one finding per database, not one per
replica. DescribeDBInstances/DescribeDBClusters also list Amazon Neptune and Amazon DocumentDB
databases (they share the RDS management API); they store data too and are judged the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scanner.context import CheckContext
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

CLUSTER = "AWS::RDS::DBCluster"
INSTANCE = "AWS::RDS::DBInstance"
PERMISSIONS = ("rds:DescribeDBInstances", "rds:DescribeDBClusters")
MEMBER_NOTE = "instances that belong to a cluster are judged through the cluster"


@dataclass(frozen=True)
class Database:
    """One judged database: a DB cluster (with its member instances) or a standalone DB instance."""

    arn: str
    resource_type: str
    identifier: str
    record: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_cluster(self) -> bool:
        return self.resource_type == CLUSTER

    @property
    def label(self) -> str:
        return f"DB cluster {self.identifier}" if self.is_cluster else f"DB instance {self.identifier}"

    def base_evidence(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "identifier": self.identifier,
            "kind": "cluster" if self.is_cluster else "instance",
            "engine": self.record.get("Engine"),
        }
        if self.is_cluster:
            evidence["engine_mode"] = self.record.get("EngineMode")
            evidence["member_instances"] = [m["DBInstanceIdentifier"] for m in self.members]
            evidence["note"] = MEMBER_NOTE
        elif self.record.get("DBClusterIdentifier"):
            evidence["note"] = (
                f"member of cluster {self.record['DBClusterIdentifier']}, which DescribeDBClusters did not "
                "list; judged on its own"
            )
        return evidence


def databases(ctx: CheckContext) -> list[Database]:
    """Clusters (with members) first, then standalone instances. Both lists are read unfiltered so
    that the three RDS checks share two cached calls."""
    instances: list[dict[str, Any]] = ctx.read("rds", "DescribeDBInstances").get("DBInstances", [])
    clusters: list[dict[str, Any]] = ctx.read("rds", "DescribeDBClusters").get("DBClusters", [])
    by_id = {i["DBInstanceIdentifier"]: i for i in instances}
    cluster_ids = {c["DBClusterIdentifier"] for c in clusters}
    found: list[Database] = []
    for cluster in clusters:
        member_ids = [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])]
        # A member that DescribeDBInstances did not return (e.g. being created) still counts as a member,
        # without an AZ.
        members = [by_id.get(mid, {"DBInstanceIdentifier": mid}) for mid in member_ids]
        found.append(Database(
            arn=cluster.get("DBClusterArn") or ctx.arn("rds", f"cluster:{cluster['DBClusterIdentifier']}"),
            resource_type=CLUSTER, identifier=cluster["DBClusterIdentifier"], record=cluster, members=members,
        ))
    for instance in instances:
        if instance.get("DBClusterIdentifier") in cluster_ids:
            continue
        found.append(Database(
            arn=instance.get("DBInstanceArn") or ctx.arn("rds", f"db:{instance['DBInstanceIdentifier']}"),
            resource_type=INSTANCE, identifier=instance["DBInstanceIdentifier"], record=instance,
        ))
    return found


def not_applicable(ctx: CheckContext) -> Finding:
    message = f"No RDS, Aurora, Neptune or DocumentDB databases in {ctx.region}."
    return ctx.finding(Status.NOT_APPLICABLE, message=message, evidence={})


@check(
    id="rds_storage_encrypted",
    title="RDS and Aurora databases are encrypted at rest",
    severity=Severity.HIGH,
    criteria=("NETSEC-002.3",),
    permissions=PERMISSIONS,
    scope=Scope.REGIONAL,
    remediation="Encryption cannot be turned on for an existing database: take a snapshot, copy it with "
    "encryption (aws rds copy-db-snapshot --kms-key-id ...), restore from the encrypted copy and switch "
    "the application over. Create new databases with --storage-encrypted.",
)
def rds_storage_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    """Databases hold the customer's most valuable data. The checklist asks that native encryption
    at rest is on by default in every service that stores data. RDS encryption also covers the
    automated backups, snapshots and read replicas of the database, and can only be chosen at
    creation time (or through an encrypted snapshot copy and restore).
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html"""
    found = databases(ctx)
    if not found:
        yield not_applicable(ctx)
        return
    for db in found:
        evidence = db.base_evidence()
        encrypted = bool(db.record.get("StorageEncrypted"))
        evidence.update({"storage_encrypted": encrypted, "kms_key_id": db.record.get("KmsKeyId")})
        status = Status.PASS if encrypted else Status.FAIL
        message = f"{db.label} is {'' if encrypted else 'not '}encrypted at rest."
        yield ctx.finding(status, resource_id=db.arn, resource_type=db.resource_type, message=message,
                          evidence=evidence)


def availability(db: Database) -> tuple[bool, dict[str, Any]]:
    """(multi-AZ?, evidence). A cluster is multi-AZ when its instances run in >= 2 AZs or RDS says
    MultiAZ (Aurora sets it when a replica in another AZ can take over; Multi-AZ DB clusters always).
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html
    A standalone instance is multi-AZ when MultiAZ is true (a standby, or SQL Server mirroring/AGs).
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html"""
    flag = bool(db.record.get("MultiAZ"))
    if db.is_cluster:
        zones = sorted({str(m["AvailabilityZone"]) for m in db.members if m.get("AvailabilityZone")})
        evidence = {"multi_az": flag, "member_availability_zones": zones,
                    "members": {m["DBInstanceIdentifier"]: m.get("AvailabilityZone") for m in db.members}}
        return flag or len(zones) >= 2, evidence
    return flag, {
        "multi_az": flag,
        "availability_zone": db.record.get("AvailabilityZone"),
        "secondary_availability_zone": db.record.get("SecondaryAvailabilityZone"),
    }


@check(
    id="rds_multi_az",
    title="RDS and Aurora databases run in more than one Availability Zone",
    severity=Severity.MEDIUM,
    criteria=("REL-002.2", "DOC-001.2"),
    permissions=PERMISSIONS,
    scope=Scope.REGIONAL,
    remediation="Convert the instance to Multi-AZ (aws rds modify-db-instance --multi-az "
    "--apply-immediately) or add an Aurora replica in another Availability Zone (aws rds create-db-instance "
    "--db-cluster-identifier ... --availability-zone ...). If single-AZ is an intentional cost trade-off, "
    "record the customer's decision in the DOC-001.2 evidence.",
)
def rds_multi_az(ctx: CheckContext) -> Iterator[Finding]:
    """A database in one Availability Zone is down (and, without a standby, possibly restored from
    backup with data loss) when that zone or its host fails. The checklist asks for high
    availability across AZs and a recovery process for the core components: a Multi-AZ standby
    or an Aurora replica in another AZ fails over automatically, usually within a minute or two.
    An Aurora cluster without any DB instance cannot serve requests and is reported as not
    multi-AZ."""
    found = databases(ctx)
    if not found:
        yield not_applicable(ctx)
        return
    for db in found:
        multi_az, facts = availability(db)
        evidence = {**db.base_evidence(), **facts}
        if multi_az:
            message = f"{db.label} is multi-AZ."
        elif db.is_cluster and not db.members:
            message = f"{db.label} has no DB instances, so nothing can fail over."
        elif db.is_cluster:
            zones = facts["member_availability_zones"]
            message = f"{db.label} runs all its instances in {', '.join(zones) or 'one Availability Zone'}."
        else:
            message = f"{db.label} is single-AZ ({db.record.get('AvailabilityZone')})."
        yield ctx.finding(Status.PASS if multi_az else Status.FAIL, resource_id=db.arn,
                          resource_type=db.resource_type, message=message, evidence=evidence)


@check(
    id="rds_backup_retention",
    title="RDS and Aurora automated backups are kept long enough",
    severity=Severity.MEDIUM,
    criteria=("TEC-001.1",),
    permissions=PERMISSIONS,
    scope=Scope.REGIONAL,
    remediation="Raise the automated backup retention (aws rds modify-db-instance / modify-db-cluster "
    "--backup-retention-period 7 or more); retention 0 disables automated backups and point-in-time restore.",
)
def rds_backup_retention(ctx: CheckContext) -> Iterator[Finding]:
    """Automated backups (daily snapshots plus transaction logs) make point-in-time restore
    possible within the retention window; retention 0 turns them off. The checklist asks for
    automated backups: govscan requires at least ``backup_retention_days`` days (setting, default
    7, AWS's console default) so that a problem noticed after a weekend can still be undone.
    Read replicas are not judged on their own retention: their data is backed up on the source
    database, which is judged itself (when in another region or account, scan that one too).
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html"""
    minimum = int(ctx.setting("backup_retention_days", 7))
    found = databases(ctx)
    if not found:
        yield not_applicable(ctx)
        return
    for db in found:
        retention = int(db.record.get("BackupRetentionPeriod") or 0)
        evidence = {**db.base_evidence(), "backup_retention_days": retention, "required_days": minimum,
                    "preferred_backup_window": db.record.get("PreferredBackupWindow")}
        source = db.record.get("ReadReplicaSourceDBInstanceIdentifier")
        if source and not db.is_cluster:
            evidence["read_replica_source"] = source
            message = (f"{db.label} is a read replica of {source}; backups are judged on the source "
                       f"(replica retention {retention} days).")
            yield ctx.finding(Status.NOT_APPLICABLE, resource_id=db.arn, resource_type=db.resource_type,
                              message=message, evidence=evidence)
            continue
        if retention >= minimum:
            status, message = Status.PASS, f"{db.label} keeps automated backups for {retention} days."
        elif retention == 0:
            status, message = Status.FAIL, f"{db.label} has automated backups disabled (retention 0)."
        else:
            status = Status.FAIL
            message = f"{db.label} keeps automated backups for {retention} days (fewer than {minimum})."
        yield ctx.finding(status, resource_id=db.arn, resource_type=db.resource_type, message=message,
                          evidence=evidence)
