"""Amazon DynamoDB: table encryption keys (NETSEC-002.4) and point-in-time recovery (TEC-001.1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

TABLE = "AWS::DynamoDB::Table"
INACCESSIBLE = "INACCESSIBLE_ENCRYPTION_CREDENTIALS"


def table_names(ctx: CheckContext) -> list[str]:
    names: list[str] = ctx.read("dynamodb", "ListTables").get("TableNames", [])
    return names


def table_arn(ctx: CheckContext, name: str) -> str:
    return ctx.arn("dynamodb", f"table/{name}")


def not_applicable(ctx: CheckContext) -> Finding:
    return ctx.finding(Status.NOT_APPLICABLE, message=f"No DynamoDB tables in {ctx.region}.", evidence={})


def key_type(manager: str | None) -> str:
    return {"CUSTOMER": "CUSTOMER_MANAGED", "AWS": "AWS_MANAGED"}.get(manager or "", f"KMS ({manager})")


def table_encryption(ctx: CheckContext, name: str) -> tuple[Status, str, dict[str, Any]]:
    """(status, message, evidence) for one table's encryption key. Raises CallFailed."""
    table = ctx.read("dynamodb", "DescribeTable", TableName=name).get("Table", {})
    sse = table.get("SSEDescription") or {}
    evidence: dict[str, Any] = {
        "table": name,
        "table_status": table.get("TableStatus"),
        "sse_status": sse.get("Status"),
        "sse_type": sse.get("SSEType"),
    }
    key_arn = sse.get("KMSMasterKeyArn")
    if table.get("TableStatus") == INACCESSIBLE:
        evidence.update(
            {
                "key_type": "KMS",
                "kms_key_arn": key_arn,
                "inaccessible_since": str(sse.get("InaccessibleEncryptionDateTime") or ""),
            }
        )
        return Status.FAIL, f"DynamoDB table {name} is inaccessible: its KMS key {key_arn} cannot be used.", evidence
    if sse.get("SSEType") != "KMS" or not key_arn or sse.get("Status") in ("DISABLED", "DISABLING"):
        # No SSEDescription (or SSE disabled) means the AWS owned key: data is still encrypted at rest,
        # by a key AWS owns and manages outside the account's KMS.
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html
        evidence.update(
            {
                "key_type": "AWS_OWNED",
                "info": "encrypted with an AWS owned key: not visible or "
                "auditable in the account's KMS; use an AWS managed or customer managed KMS key to "
                "show key management evidence",
            }
        )
        return Status.PASS, f"DynamoDB table {name} is encrypted with an AWS owned key (info).", evidence
    region = key_arn.split(":")[3] if key_arn.count(":") >= 5 else ctx.region
    metadata = ctx.read("kms", "DescribeKey", region=region, KeyId=key_arn).get("KeyMetadata", {})
    evidence.update(
        {
            "key_type": key_type(metadata.get("KeyManager")),
            "kms_key_arn": key_arn,
            "key_state": metadata.get("KeyState"),
        }
    )
    if metadata.get("KeyState") != "Enabled":
        # A disabled or deleted key makes the table inaccessible within minutes.
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html
        return (
            Status.FAIL,
            f"DynamoDB table {name} uses KMS key {key_arn}, which is "
            f"{metadata.get('KeyState')}: the table's data cannot be read.",
            evidence,
        )
    label = "a customer managed" if evidence["key_type"] == "CUSTOMER_MANAGED" else "an AWS managed"
    return Status.PASS, f"DynamoDB table {name} is encrypted with {label} KMS key.", evidence


@check(
    id="dynamodb_kms_encryption",
    title="DynamoDB tables are encrypted with a KMS key",
    severity=Severity.LOW,
    criteria=("NETSEC-002.4",),
    permissions=("dynamodb:ListTables", "dynamodb:DescribeTable", "kms:DescribeKey"),
    scope=Scope.REGIONAL,
    remediation="Re-enable the table's KMS key (aws kms enable-key / cancel-key-deletion) so DynamoDB can "
    "read the table again; to manage the key yourself, switch the table to a customer managed key "
    "(aws dynamodb update-table --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=...).",
)
def dynamodb_kms_encryption(ctx: CheckContext) -> Iterator[Finding]:
    """DynamoDB always encrypts tables at rest; the question for key management is which key.
    A customer managed or AWS managed KMS key lives in the account's KMS, where its use is
    logged in CloudTrail and (for customer managed keys) its policy and rotation are the
    customer's to set: PASS. The default AWS owned key also encrypts the data but is invisible to
    the account: reported as PASS with ``key_type: AWS_OWNED`` and an info note, not as a
    failure (the checklist does not forbid it). FAIL is reserved for what breaks key management:
    a table whose KMS key is disabled, pending deletion or otherwise unusable (the table becomes
    inaccessible, INACCESSIBLE_ENCRYPTION_CREDENTIALS)."""
    names = table_names(ctx)
    if not names:
        yield not_applicable(ctx)
        return

    def one(child: CheckContext, name: str) -> Iterator[Finding]:
        arn = table_arn(child, name)
        try:
            status, message, evidence = table_encryption(child, name)
        except CallFailed as failure:
            yield child.error(failure, resource_id=arn, resource_type=TABLE)
            return
        yield child.finding(status, resource_id=arn, resource_type=TABLE, message=message, evidence=evidence)

    yield from ctx.each(names, one)


@check(
    id="dynamodb_pitr",
    title="DynamoDB tables have point-in-time recovery",
    severity=Severity.MEDIUM,
    criteria=("TEC-001.1",),
    permissions=("dynamodb:ListTables", "dynamodb:DescribeContinuousBackups"),
    scope=Scope.REGIONAL,
    remediation="aws dynamodb update-continuous-backups --table-name <table> "
    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
)
def dynamodb_pitr(ctx: CheckContext) -> Iterator[Finding]:
    """Point-in-time recovery keeps continuous backups of a table and can restore it to any
    second of the recovery period (up to 35 days): the automated backup the checklist asks for.
    Without it, a bad deployment or a deleted item can only be undone from on-demand or AWS
    Backup backups, if there are any (backup_plan_coverage judges those).
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Point-in-time-recovery.html"""
    names = table_names(ctx)
    if not names:
        yield not_applicable(ctx)
        return

    def one(child: CheckContext, name: str) -> Iterator[Finding]:
        arn = table_arn(child, name)
        try:
            answer = child.read("dynamodb", "DescribeContinuousBackups", TableName=name)
        except CallFailed as failure:
            yield child.error(failure, resource_id=arn, resource_type=TABLE)
            return
        backups = answer.get("ContinuousBackupsDescription", {})
        pitr = backups.get("PointInTimeRecoveryDescription", {})
        status = pitr.get("PointInTimeRecoveryStatus", "DISABLED")
        evidence = {
            "table": name,
            "point_in_time_recovery": status,
            "recovery_period_days": pitr.get("RecoveryPeriodInDays"),
            "earliest_restorable": str(pitr["EarliestRestorableDateTime"])
            if pitr.get("EarliestRestorableDateTime")
            else None,
        }
        if status == "ENABLED":
            period = pitr.get("RecoveryPeriodInDays")
            within = f" (recovery period {period} days)" if period else ""
            yield child.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=TABLE,
                evidence=evidence,
                message=f"DynamoDB table {name} has point-in-time recovery on{within}.",
            )
        else:
            yield child.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=TABLE,
                evidence=evidence,
                message=f"DynamoDB table {name} has point-in-time recovery {status.lower()}.",
            )

    yield from ctx.each(names, one)
