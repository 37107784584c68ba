"""CloudTrail: an account-wide audit trail whose logs cannot be quietly removed (ACCT-001.4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from scanner.context import CheckContext, error_evidence
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.permissions import iam_action
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


def trail_facts(ctx: CheckContext, trail: dict[str, Any]) -> dict[str, Any]:
    """What DescribeTrails says of a trail; ``managed_by_account`` when another account owns it."""
    facts: dict[str, Any] = {
        "trail": trail["TrailARN"],
        "home_region": trail.get("HomeRegion"),
        "multi_region": bool(trail.get("IsMultiRegionTrail")),
        "organization_trail": bool(trail.get("IsOrganizationTrail")),
        "s3_bucket": trail.get("S3BucketName"),
    }
    owner = trail["TrailARN"].split(":")[4]
    if owner != ctx.account_id:
        # An organization trail seen from a member account: its ARN names the management (or
        # delegated administrator) account, which alone can change it or read all its settings.
        facts["managed_by_account"] = owner
    return facts


def evaluate_trail(ctx: CheckContext, trail: dict[str, Any]) -> dict[str, Any]:
    """A trail's facts plus ``is_logging`` and ``all_management_events``, or ``unreadable``
    (the failed call) when GetTrailStatus or GetEventSelectors could not answer for it.

    A stopped trail cannot qualify whatever it would record: its selectors are not read.
    """
    facts = trail_facts(ctx, trail)
    try:
        facts["is_logging"] = bool(trail_status(ctx, trail).get("IsLogging"))
        if not facts["is_logging"]:
            return facts
        selectors = ctx.read(
            "cloudtrail", "GetEventSelectors", region=trail.get("HomeRegion"), TrailName=trail["TrailARN"]
        )
    except CallFailed as failure:
        # From a member account, calls on the organization trail's ARN can answer
        # CloudTrailARNInvalidException; any failure here loses this trail only.
        facts["unreadable"] = error_evidence(failure)
        return facts
    if not selectors.get("EventSelectors") and not selectors.get("AdvancedEventSelectors"):
        # AWS always answers one kind: a trail never given selectors has the default basic selector
        # (all read and write management events). An answer with neither (e.g. a stock moto
        # server) says nothing about what the trail records: not a FAIL.
        facts["unreadable"] = {
            "action": "cloudtrail:GetEventSelectors",
            "region": trail.get("HomeRegion"),
            "outcome": "unexpected answer",
            "error_code": None,
            "error_message": "neither EventSelectors nor AdvancedEventSelectors",
        }
        return facts
    facts["all_management_events"] = records_all_management_events(selectors)
    return facts


@dataclass(frozen=True)
class TrailSurvey:
    """The multi-region trails, split by what could be said of each."""

    evaluated: list[dict[str, Any]]  # every multi-region trail, in DescribeTrails order

    @property
    def qualifying(self) -> list[dict[str, Any]]:
        return [e for e in self.evaluated if e.get("is_logging") and e.get("all_management_events")]

    @property
    def unreadable(self) -> list[dict[str, Any]]:
        return [e for e in self.evaluated if "unreadable" in e]

    def failed_calls(self) -> list[str]:
        return [e["unreadable"]["failed_call"] for e in self.unreadable if e["unreadable"].get("failed_call")]

    def unreadable_evidence(self) -> list[dict[str, Any]]:
        return [
            {
                "trail": e["trail"],
                "organization_trail": e["organization_trail"],
                "managed_by_account": e.get("managed_by_account"),
                **e["unreadable"],
            }
            for e in self.unreadable
        ]


def survey_trails(ctx: CheckContext) -> TrailSurvey:
    return TrailSurvey([evaluate_trail(ctx, t) for t in multi_region_trails(ctx)])


def describe(entry: dict[str, Any]) -> str:
    """The trail's ARN, and who manages it when that is another account."""
    owner = entry.get("managed_by_account")
    if owner is None:
        return str(entry["trail"])
    kind = "organization trail" if entry["organization_trail"] else "trail"
    return f"{entry['trail']} ({kind} managed by account {owner})"


def unreadable_reason(entry: dict[str, Any]) -> str:
    failure = entry["unreadable"]
    reason = f"{describe(entry)}: {failure['action']} in {failure['region']} "
    if failure["outcome"] == "unexpected answer":
        return reason + f"gave an unexpected answer ({failure['error_message']}; AWS always returns one of them)"
    outcome = failure["outcome"]
    reason += f"{'was ' if outcome in ('denied', 'throttled') else ''}{outcome} ({failure['error_code']})"
    if entry.get("managed_by_account"):
        reason += f"; evaluate it by scanning account {entry['managed_by_account']}, which manages it"
    elif failure["outcome"] == "denied":
        service, _, operation = str(failure["action"]).partition(":")
        reason += f"; grant the scan role {iam_action(service, operation)}"
    return reason


def survey_error(ctx: CheckContext, survey: TrailSurvey, lead: str, evidence: dict[str, Any]) -> Finding:
    """ERROR: no readable trail qualifies and some could not be read (one of those might)."""
    unreadable = survey.unreadable_evidence()
    return ctx.finding(
        Status.ERROR,
        message=f"Could not evaluate: {lead} {len(unreadable)} could not be read; "
        + ("it" if len(unreadable) == 1 else "one of them")
        + " might qualify, so this is not a FAIL. Not read: "
        + "; ".join(unreadable_reason(e) for e in survey.unreadable)
        + ".",
        evidence={
            **evidence,
            # The first failure at the top, as in every ERROR finding; all of them below.
            "action": unreadable[0]["action"],
            "error_code": unreadable[0]["error_code"],
            "failed_actions": sorted({e["action"] for e in unreadable}),
            "unreadable_trails": unreadable,
        },
        calls=(*ctx.touched, *survey.failed_calls()),
    )


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
    single-region trail does not count, and neither does a trail that exists but is stopped.
    Organization trails count: a member account sees them through DescribeTrails with the
    management account's ARN. Each trail is read on its own: one whose status or selectors
    cannot be read (member accounts are refused some calls on the organization trail) does not
    hide another that qualifies; if none qualifies and one could not be read, the result is
    ERROR, not FAIL, since the unread one might qualify."""
    survey = survey_trails(ctx)
    evidence: dict[str, Any] = {
        "multi_region_trails": survey.evaluated,
        "single_region_trails": [t["TrailARN"] for t in all_trails(ctx) if not t.get("IsMultiRegionTrail")],
    }
    good = survey.qualifying
    if good:
        message = f"Multi-region trail {describe(good[0])} is logging all management events."
        if survey.unreadable:
            evidence["unreadable_trails"] = survey.unreadable_evidence()
            message += " Not read: " + "; ".join(unreadable_reason(e) for e in survey.unreadable) + "."
        yield ctx.finding(Status.PASS, message=message, evidence=evidence, calls=(*ctx.touched, *survey.failed_calls()))
        return
    readable = [e for e in survey.evaluated if "unreadable" not in e]
    reasons = [
        f"{describe(e)}: "
        + ("not logging" if not e["is_logging"] else "does not record read and write management events")
        for e in readable
    ]
    if survey.unreadable:
        lead = "no readable multi-region trail qualifies" + (f" ({'; '.join(reasons)})" if reasons else "")
        yield survey_error(ctx, survey, lead + " and", evidence)
        return
    if not survey.evaluated:
        message = "No multi-region trail exists" + (
            " (only single-region trails)." if evidence["single_region_trails"] else "."
        )
    else:
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
    bucket of the multi-region trail(s) is judged: those that qualify for
    cloudtrail_multi_region_logging, or every multi-region trail when none does. When none
    qualifies and one could not be read, which bucket matters cannot be told: ERROR naming the
    calls. A bucket in another (log archive) account cannot be read with this account's role:
    that is an ERROR naming the call; scan the log archive account too."""
    survey = survey_trails(ctx)
    if not survey.evaluated:
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            message="No multi-region trail, so no trail bucket to judge (see cloudtrail_multi_region_logging).",
            evidence={},
        )
        return
    trails = survey.qualifying
    if not trails and survey.unreadable:
        # Which trail is "the" trail cannot be told: judging the others' buckets could FAIL a
        # bucket that does not matter.
        lead = "which trail's bucket to judge is unknown: no readable multi-region trail qualifies and"
        yield survey_error(ctx, survey, lead, {})
        return
    trails = trails or survey.evaluated
    for bucket in sorted({t["s3_bucket"] for t in trails if t["s3_bucket"]}):
        arn = f"arn:{ctx.partition}:s3:::{bucket}"
        try:
            protection = bucket_protection(ctx, bucket)
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=arn, resource_type=BUCKET)
            continue
        protection["trails"] = [t["trail"] for t in trails if t["s3_bucket"] == bucket]
        if survey.unreadable:
            protection["unreadable_trails"] = survey.unreadable_evidence()
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
    ``console_max_events`` (default 5000) write events are read per region, newest first. A
    console change among them is a FAIL; when the history was longer and none was seen, the
    older part of the window is unread: ERROR (raise the limit), never PASS."""
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
    truncated = bool(answer.get("Truncated"))
    evidence = {
        "lookback_days": days,
        "console_max_events": limit,
        "write_events_read": len(events),
        "history_truncated": truncated,
        "console_write_events": len(console),
        "examples": sample,
    }
    if console:
        more = f" among the first {len(events)} write events read (the history holds more)" if truncated else ""
        yield ctx.finding(
            Status.FAIL,
            message=f"{len(console)} write call(s) from console sessions in the last "
            f"{days} days in {ctx.region}{more} (e.g. {sample[0]['EventName']} by {sample[0]['Username']}).",
            evidence=evidence,
        )
    elif truncated:
        # LookupEvents answered, but only the newest `limit` write events were read: the older
        # part of the window is unknown, so "no console change" cannot be claimed.
        yield ctx.finding(
            Status.ERROR,
            message=f"Could not evaluate the whole {days}-day window in {ctx.region}: the event history holds "
            f"more than console_max_events={limit} write events; none of the {len(events)} read came from a "
            "console session, but older ones were not read. Raise the limit (govscan scan --set "
            "console_max_events=N) or shorten console_lookback_days.",
            evidence=evidence,
        )
    else:
        yield ctx.finding(
            Status.PASS,
            message=f"No write calls from console sessions in the last {days} days "
            f"among {len(events)} write events in {ctx.region}.",
            evidence=evidence,
        )
