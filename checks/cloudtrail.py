"""CloudTrail: an account-wide audit trail whose logs cannot be quietly removed (ACCT-001.4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

TRAIL = "AWS::CloudTrail::Trail"
BUCKET = "AWS::S3::Bucket"
# Service principals that deliver logs into a bucket; a bucket whose policy lets only these write
# is taken as dedicated to logs.
LOG_DELIVERY_PRINCIPALS = frozenset(
    {
        "cloudtrail.amazonaws.com",
        "config.amazonaws.com",
        "delivery.logs.amazonaws.com",
        "logging.s3.amazonaws.com",
        "logdelivery.elasticloadbalancing.amazonaws.com",
    }
)


def all_trails(ctx: CheckContext) -> list[dict[str, Any]]:
    """Every trail visible from the home region, multi-region ones included (shadow trails)."""
    trails: list[dict[str, Any]] = ctx.read(
        "cloudtrail", "DescribeTrails", region=ctx.home_region, includeShadowTrails=True
    ).get("trailList", [])
    return trails


def multi_region_trails(ctx: CheckContext) -> list[dict[str, Any]]:
    return [t for t in all_trails(ctx) if t.get("IsMultiRegionTrail")]


def trail_status(ctx: CheckContext, trail: dict[str, Any]) -> dict[str, Any]:
    # Status and selectors must be asked of the trail's home region.
    return ctx.read("cloudtrail", "GetTrailStatus", region=trail.get("HomeRegion"), Name=trail["TrailARN"])


def records_all_management_events(selectors: dict[str, Any]) -> bool:
    """True when the selectors record read AND write management events.

    Basic selectors: IncludeManagementEvents with ReadWriteType All. Advanced selectors: a
    selector for eventCategory Management that does not filter on readOnly.
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html
    """
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") == "All":
            return True
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
        category = fields.get("eventCategory", {})
        if "Management" in category.get("Equals", []) and "readOnly" not in fields:
            return True
    return False


def evaluate_trail(ctx: CheckContext, trail: dict[str, Any]) -> dict[str, Any]:
    status = trail_status(ctx, trail)
    selectors = ctx.read("cloudtrail", "GetEventSelectors", region=trail.get("HomeRegion"), TrailName=trail["TrailARN"])
    return {
        "trail": trail["TrailARN"],
        "home_region": trail.get("HomeRegion"),
        "multi_region": bool(trail.get("IsMultiRegionTrail")),
        "organization_trail": bool(trail.get("IsOrganizationTrail")),
        "is_logging": bool(status.get("IsLogging")),
        "all_management_events": records_all_management_events(selectors),
        "s3_bucket": trail.get("S3BucketName"),
    }


def qualifying_trails(ctx: CheckContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(trails that satisfy "all regions, logging, read+write management events", all evaluated)."""
    evaluated = [evaluate_trail(ctx, t) for t in multi_region_trails(ctx)]
    good = [e for e in evaluated if e["is_logging"] and e["all_management_events"]]
    return good, evaluated


@check(
    id="cloudtrail_multi_region_logging",
    title="A multi-region trail is logging read and write management events",
    severity=Severity.HIGH,
    criteria=("ACCT-001.4",),
    permissions=("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"),
    scope=Scope.GLOBAL,
    remediation="Create (or turn on) a multi-region trail recording all management events, e.g. "
    "aws cloudtrail create-trail --is-multi-region-trail ... && aws cloudtrail start-logging.",
)
def cloudtrail_multi_region_logging(ctx: CheckContext) -> Iterator[Finding]:
    """Without a trail in every region, activity in an unused region (a favourite of attackers
    mining crypto) leaves no record. The checklist requires CloudTrail in all regions. A
    single-region trail does not count, and neither does a trail that exists but is stopped."""
    good, evaluated = qualifying_trails(ctx)
    evidence = {
        "multi_region_trails": evaluated,
        "single_region_trails": [t["TrailARN"] for t in all_trails(ctx) if not t.get("IsMultiRegionTrail")],
    }
    if good:
        yield ctx.finding(
            Status.PASS,
            message=f"Multi-region trail {good[0]['trail']} is logging all management events.",
            evidence=evidence,
        )
        return
    if not evaluated:
        message = "No multi-region trail exists" + (
            " (only single-region trails)." if evidence["single_region_trails"] else "."
        )
    else:
        reasons = [
            f"{e['trail']}: "
            + ("not logging" if not e["is_logging"] else "does not record read and write management events")
            for e in evaluated
        ]
        message = "No multi-region trail qualifies: " + "; ".join(reasons) + "."
    yield ctx.finding(Status.FAIL, message=message, evidence=evidence)


def bucket_is_public(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """Allow statements open to everyone (Principal "*") without a Condition."""
    public = []
    for statement in _statements(policy):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if aws == "*" or (isinstance(aws, list) and "*" in aws):
            public.append(statement)
    return public


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def non_log_writers(policy: dict[str, Any]) -> list[str]:
    """Principals other than log-delivery services that the policy allows anything."""
    others: list[str] = []
    for statement in _statements(policy):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal", {})
        if not isinstance(principal, dict):
            others.append(str(principal))
            continue
        for kind, value in principal.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if kind != "Service" or v not in LOG_DELIVERY_PRINCIPALS:
                    others.append(f"{kind}:{v}")
    return sorted(set(others))


def bucket_protection(ctx: CheckContext, bucket: str) -> dict[str, Any]:
    versioning = ctx.read("s3", "GetBucketVersioning", region=ctx.home_region, Bucket=bucket)
    lock = ctx.read_optional(
        "s3",
        "GetObjectLockConfiguration",
        absent=("ObjectLockConfigurationNotFoundError",),
        region=ctx.home_region,
        Bucket=bucket,
    )
    block = ctx.read_optional(
        "s3",
        "GetPublicAccessBlock",
        absent=("NoSuchPublicAccessBlockConfiguration",),
        region=ctx.home_region,
        Bucket=bucket,
    )
    account_block = ctx.read_optional(
        "s3control",
        "GetPublicAccessBlock",
        absent=("NoSuchPublicAccessBlockConfiguration",),
        region=ctx.home_region,
        AccountId=ctx.account_id,
    )
    policy_answer = ctx.read_optional(
        "s3", "GetBucketPolicy", absent=("NoSuchBucketPolicy",), region=ctx.home_region, Bucket=bucket
    )
    policy = json.loads(policy_answer["Policy"]) if policy_answer and policy_answer.get("Policy") else {}
    bucket_flags = (block or {}).get("PublicAccessBlockConfiguration", {})
    account_flags = (account_block or {}).get("PublicAccessBlockConfiguration", {})
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {
        "bucket": bucket,
        "versioning": versioning.get("Status", "Disabled"),
        "mfa_delete": versioning.get("MFADelete", "Disabled"),
        "object_lock": ((lock or {}).get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled", "Disabled"),
        "public_access_blocked": all(bucket_flags.get(f) for f in flags) or all(account_flags.get(f) for f in flags),
        "bucket_public_access_block": bucket_flags,
        "account_public_access_block": account_flags,
        "public_policy_statements": bucket_is_public(policy),
        "non_log_principals": non_log_writers(policy),
    }


def protection_gaps(p: dict[str, Any]) -> list[str]:
    gaps = []
    if p["versioning"] != "Enabled":
        gaps.append("versioning is off")
    if p["mfa_delete"] != "Enabled" and p["object_lock"] != "Enabled":
        gaps.append("neither MFA delete nor Object Lock is on")
    if not p["public_access_blocked"]:
        gaps.append("public access is not fully blocked")
    if p["public_policy_statements"]:
        gaps.append("the bucket policy allows public access")
    if p["non_log_principals"]:
        gaps.append(
            "the bucket is not dedicated to logs (policy also grants " + ", ".join(p["non_log_principals"]) + ")"
        )
    return gaps


@check(
    id="cloudtrail_bucket_protected",
    title="The trail's S3 bucket protects logs from deletion and is dedicated to logs",
    severity=Severity.HIGH,
    criteria=("ACCT-001.4",),
    permissions=(
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "s3:GetBucketVersioning",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketPolicy",
    ),
    scope=Scope.GLOBAL,
    remediation="Use a dedicated log bucket with versioning and Object Lock (or MFA delete), a public access "
    "block, and a policy that lets only CloudTrail write.",
)
def cloudtrail_bucket_protected(ctx: CheckContext) -> Iterator[Finding]:
    """Someone who can delete the logs can erase the evidence of what they did. The checklist
    asks that CloudTrail logs are protected from deletion in a dedicated S3 bucket: versioning
    with Object Lock or MFA delete, no public access, nothing else stored there. Only the
    bucket of the multi-region trail(s) is judged. A bucket in another (log archive) account
    cannot be read with this account's role: that is an ERROR naming the call; scan the log
    archive account too."""
    good, evaluated = qualifying_trails(ctx)
    trails = good or evaluated
    if not trails:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message="No multi-region trail, so no trail bucket to judge (see cloudtrail_multi_region_logging).",
            evidence={},
        )
        return
    for bucket in sorted({t["s3_bucket"] for t in trails if t["s3_bucket"]}):
        arn = f"arn:{ctx.partition}:s3:::{bucket}"
        try:
            protection = bucket_protection(ctx, bucket)
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=arn, resource_type=BUCKET)
            continue
        protection["trails"] = [t["trail"] for t in trails if t["s3_bucket"] == bucket]
        gaps = protection_gaps(protection)
        if gaps:
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=BUCKET,
                message=f"Trail bucket {bucket}: " + "; ".join(gaps) + ".",
                evidence=protection,
            )
        else:
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=BUCKET,
                message=f"Trail bucket {bucket} is versioned, deletion-protected, private and dedicated to logs.",
                evidence=protection,
            )


@check(
    id="cloudtrail_log_file_validation",
    title="Log file validation is on for the multi-region trail(s)",
    severity=Severity.MEDIUM,
    criteria=("ACCT-001.4",),
    permissions=("cloudtrail:DescribeTrails",),
    scope=Scope.GLOBAL,
    remediation="aws cloudtrail update-trail --name <trail> --enable-log-file-validation",
)
def cloudtrail_log_file_validation(ctx: CheckContext) -> Iterator[Finding]:
    """With validation on, CloudTrail signs hourly digest files, so anyone can prove later that
    a log file was not altered or removed: the difference between a log and evidence."""
    trails = multi_region_trails(ctx)
    if not trails:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message="No multi-region trail exists (see cloudtrail_multi_region_logging).",
            evidence={},
        )
        return
    for trail in trails:
        on = bool(trail.get("LogFileValidationEnabled"))
        yield ctx.finding(
            Status.PASS if on else Status.FAIL,
            resource_id=trail["TrailARN"],
            resource_type=TRAIL,
            message=f"Trail {trail['Name']}: log file validation is {'on' if on else 'off'}.",
            evidence={"trail": trail["TrailARN"], "LogFileValidationEnabled": on},
        )


@check(
    id="cloudtrail_kms_encrypted",
    title="Trails are encrypted with a KMS key",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-002.3",),
    permissions=("cloudtrail:DescribeTrails",),
    scope=Scope.REGIONAL,
    remediation="aws cloudtrail update-trail --name <trail> --kms-key-id <key arn> (the key policy must let "
    "CloudTrail encrypt).",
)
def cloudtrail_kms_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    """SSE-KMS on trail logs adds a second permission (kms:Decrypt) between a reader of the
    bucket and the logs, and records every use of the key. Each trail is judged in its home
    region."""
    # The same parameters as the other trail checks, so the gateway cache answers once per
    # region; shadow copies of multi-region trails are judged only in their home region.
    trails = ctx.read("cloudtrail", "DescribeTrails", includeShadowTrails=True).get("trailList", [])
    trails = [t for t in trails if t.get("HomeRegion", ctx.region) == ctx.region]
    if not trails:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No trail has its home in {ctx.region}.", evidence={})
        return
    for trail in trails:
        key = trail.get("KmsKeyId")
        yield ctx.finding(
            Status.PASS if key else Status.FAIL,
            resource_id=trail["TrailARN"],
            resource_type=TRAIL,
            message=f"Trail {trail['Name']} is " + (f"encrypted with KMS key {key}." if key else "not KMS-encrypted."),
            evidence={"trail": trail["TrailARN"], "KmsKeyId": key},
        )


def from_console(event: dict[str, Any]) -> bool:
    """True when the CloudTrail record says a console session made the call.

    ``sessionCredentialFromConsole`` is set by CloudTrail for calls made with console session
    credentials. https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
    """
    try:
        record = json.loads(event.get("CloudTrailEvent") or "{}")
    except json.JSONDecodeError:
        return False
    if str(record.get("sessionCredentialFromConsole", "")).lower() == "true":
        return not record.get("userIdentity", {}).get("invokedBy")
    return False


@check(
    id="cloudtrail_no_console_changes",
    title="No production changes were made through the console",
    severity=Severity.MEDIUM,
    criteria=("REL-001.2",),
    permissions=("cloudtrail:LookupEvents",),
    scope=Scope.REGIONAL,
    remediation="Make changes through infrastructure as code and pipelines; restrict console roles to read-only.",
)
def cloudtrail_no_console_changes(ctx: CheckContext) -> Iterator[Finding]:
    """The checklist asks that production changes are not made through the console: console
    changes bypass review and drift from the infrastructure code. CloudTrail's event history
    (90 days, per region) marks calls made with console session credentials. At most
    ``console_max_events`` (default 5000) write events are read per region; the evidence
    says when the history was longer."""
    days = int(ctx.setting("console_lookback_days", 90))
    limit = int(ctx.setting("console_max_events", 5000))
    answer = ctx.read(
        "cloudtrail",
        "LookupEvents",
        LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
        StartTime=(ctx.now - timedelta(days=days)).replace(microsecond=0),
        EndTime=ctx.now.replace(microsecond=0),
        PaginationConfig={"MaxItems": limit, "PageSize": 50},
    )
    events = answer.get("Events", [])
    console = [e for e in events if from_console(e)]
    sample = [
        {
            "EventTime": e.get("EventTime"),
            "EventName": e.get("EventName"),
            "EventSource": e.get("EventSource"),
            "Username": e.get("Username"),
        }
        for e in console[:20]
    ]
    evidence = {
        "lookback_days": days,
        "write_events_read": len(events),
        "history_truncated": bool(answer.get("Truncated")),
        "console_write_events": len(console),
        "examples": sample,
    }
    if console:
        yield ctx.finding(
            Status.FAIL,
            message=f"{len(console)} write call(s) from console sessions in the last "
            f"{days} days in {ctx.region} (e.g. {sample[0]['EventName']} by {sample[0]['Username']}).",
            evidence=evidence,
        )
    else:
        yield ctx.finding(
            Status.PASS,
            message=f"No write calls from console sessions in the last {days} days "
            f"among {len(events)} write events in {ctx.region}.",
            evidence=evidence,
        )
