"""S3: account-wide public access block (NETSEC-001.1), default encryption (NETSEC-002.3), TLS-only
access (NETSEC-002.1).

S3 bucket names are global but each bucket lives in a region. The bucket checks are GLOBAL
(one ``ListBuckets`` per account) and every finding carries the bucket's own region
(``GetBucketLocation``), so a two-region scan shows where each bucket is; buckets in regions
that were not scanned are judged too (nothing is skipped). Per-bucket reads are sent to the
bucket's region.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

BUCKET = "AWS::S3::Bucket"
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@check(
    id="s3_account_public_access_block",
    title="S3 Block Public Access is fully on for the account",
    severity=Severity.HIGH,
    criteria=("NETSEC-001.1",),
    permissions=("s3:GetAccountPublicAccessBlock",),
    scope=Scope.GLOBAL,
    remediation="aws s3control put-public-access-block --account-id <id> --public-access-block-configuration "
    "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
)
def s3_account_public_access_block(ctx: CheckContext) -> Iterator[Finding]:
    """The account-level block overrides every bucket's ACLs and policies, so no bucket, present
    or future, can be made public by mistake: the simplest way to keep data stores from facing
    the internet (NETSEC-001.1). All four settings must be on. ``NoSuchPublicAccessBlockConfiguration``
    is AWS's answer for "never configured" and is a FAIL, not an error.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"""
    answer = ctx.read_optional(
        "s3control",
        "GetPublicAccessBlock",
        absent=("NoSuchPublicAccessBlockConfiguration",),
        region=ctx.home_region,
        AccountId=ctx.account_id,
    )
    if answer is None:
        yield ctx.finding(
            Status.FAIL,
            message="S3 Block Public Access is not configured for the account.",
            evidence={"configured": False},
        )
        return
    flags = answer.get("PublicAccessBlockConfiguration", {})
    settings = {name: bool(flags.get(name)) for name in PUBLIC_ACCESS_FLAGS}
    off = [name for name, on in settings.items() if not on]
    evidence = {"configured": True, **settings}
    if off:
        yield ctx.finding(
            Status.FAIL, message=f"S3 Block Public Access for the account has {', '.join(off)} off.", evidence=evidence
        )
    else:
        yield ctx.finding(Status.PASS, message="S3 Block Public Access is fully on for the account.", evidence=evidence)


def buckets(ctx: CheckContext) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = ctx.read("s3", "ListBuckets", region=ctx.home_region).get("Buckets", [])
    return listed


def bucket_region(ctx: CheckContext, name: str) -> str:
    """A bucket's region. ``LocationConstraint`` is empty for us-east-1 and the legacy ``EU``
    for eu-west-1. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html"""
    location = ctx.read("s3", "GetBucketLocation", region=ctx.home_region, Bucket=name).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, str(location))


BucketEvaluator = Callable[[CheckContext, str, str, str], Iterator[Finding]]


def each_bucket(ctx: CheckContext, evaluate: BucketEvaluator) -> Iterator[Finding]:
    """``evaluate(ctx, name, arn, region)`` for every bucket, concurrently (``ctx.each``); a bucket
    whose region or settings cannot be read is an ERROR for that bucket alone. No bucket at all:
    one NOT_APPLICABLE finding."""
    listed = buckets(ctx)
    if not listed:
        yield ctx.finding(Status.NOT_APPLICABLE, message="The account has no S3 buckets.", evidence={})
        return

    def one(child: CheckContext, bucket: dict[str, Any]) -> Iterator[Finding]:
        name = bucket["Name"]
        arn = f"arn:{child.partition}:s3:::{name}"
        region: str | None = None
        try:
            region = bucket_region(child, name)
            yield from evaluate(child, name, arn, region)
        except CallFailed as failure:
            yield child.error(failure, resource_id=arn, resource_type=BUCKET, region=region)

    yield from ctx.each(listed, one)


@check(
    id="s3_default_encryption",
    title="Every S3 bucket has default encryption (SSE-S3 or SSE-KMS)",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-002.3",),
    permissions=("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration"),
    scope=Scope.GLOBAL,
    remediation="aws s3api put-bucket-encryption --bucket <name> --server-side-encryption-configuration "
    '\'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"},"BucketKeyEnabled":true}]}\'',
)
def s3_default_encryption(ctx: CheckContext) -> Iterator[Finding]:
    """Default encryption makes S3 encrypt every object written without its own encryption
    header: encryption at rest by default (NETSEC-002.3). Since January 2023 AWS applies SSE-S3
    to every bucket, so the useful evidence is which kind: SSE-S3 (AES256, keys managed by S3),
    SSE-KMS (aws:kms, a KMS key whose use is logged and can be restricted) or DSSE-KMS; both
    pass, the finding says which, with the key and whether an S3 Bucket Key is used. A bucket
    without any configuration (``ServerSideEncryptionConfigurationNotFoundError``) fails."""
    yield from each_bucket(ctx, _default_encryption)


def _default_encryption(ctx: CheckContext, name: str, arn: str, region: str) -> Iterator[Finding]:
    answer = ctx.read_optional(
        "s3",
        "GetBucketEncryption",
        region=region,
        Bucket=name,
        absent=("ServerSideEncryptionConfigurationNotFoundError",),
    )
    rules = ((answer or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
    default = next((r for r in rules if r.get("ApplyServerSideEncryptionByDefault")), None)
    if default is None:
        yield ctx.finding(
            Status.FAIL,
            resource_id=arn,
            resource_type=BUCKET,
            region=region,
            message=f"Bucket {name} has no default encryption.",
            evidence={"bucket": name, "bucket_region": region, "default_encryption": None},
        )
        return
    sse = default["ApplyServerSideEncryptionByDefault"]
    algorithm = sse.get("SSEAlgorithm")
    kind = {"AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}.get(algorithm, str(algorithm))
    key = sse.get("KMSMasterKeyID")
    if kind != "SSE-S3" and not key:
        key = "aws/s3 (AWS managed key)"
    evidence = {
        "bucket": name,
        "bucket_region": region,
        "default_encryption": kind,
        "sse_algorithm": algorithm,
        "kms_key": key,
        "bucket_key_enabled": bool(default.get("BucketKeyEnabled")),
    }
    yield ctx.finding(
        Status.PASS,
        resource_id=arn,
        resource_type=BUCKET,
        region=region,
        evidence=evidence,
        message=f"Bucket {name} encrypts by default with {kind}" + (f" (key {key})." if key else "."),
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def denies_insecure_transport(statement: dict[str, Any], bucket: str, partition: str) -> bool:
    """True when the statement denies everyone every S3 action on the bucket and its objects
    whenever ``aws:SecureTransport`` is false.

    ``Bool``/``BoolIfExists`` with ``"false"`` is the form AWS documents; a request over plain
    HTTP carries ``aws:SecureTransport=false``. Statements with ``NotPrincipal``/``NotAction``
    or narrower actions or resources do not count (they leave some requests over HTTP allowed).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit
    """
    if statement.get("Effect") != "Deny" or "NotPrincipal" in statement or "NotAction" in statement:
        return False
    principal = statement.get("Principal")
    if not (principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))):
        return False
    if not any(a in ("*", "s3:*") for a in _as_list(statement.get("Action", []))):
        return False
    resources = _as_list(statement.get("Resource", []))
    needed = (f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*")
    if not all(any(fnmatchcase(n, str(r)) for r in resources) for n in needed):
        return False
    condition = statement.get("Condition") or {}
    for operator in ("Bool", "BoolIfExists"):
        values = {str(k).lower(): v for k, v in (condition.get(operator) or {}).items()}
        if "aws:securetransport" in values and [str(v).lower() for v in _as_list(values["aws:securetransport"])] == [
            "false"
        ]:
            return len(condition) == 1 and len(condition[operator]) == 1
    return False


@check(
    id="s3_tls_enforced",
    title="S3 bucket policies deny requests that do not use TLS",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-002.1",),
    permissions=("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketPolicy"),
    scope=Scope.GLOBAL,
    remediation="Add a bucket policy statement: Effect Deny, Principal *, Action s3:*, Resource the bucket and "
    'bucket/*, Condition {"Bool": {"aws:SecureTransport": "false"}}.',
)
def s3_tls_enforced(ctx: CheckContext) -> Iterator[Finding]:
    """S3 answers plain HTTP as well as HTTPS; only a bucket policy that denies requests with
    ``aws:SecureTransport`` false guarantees data to and from the bucket is encrypted in transit
    (NETSEC-002.1). A bucket with no policy fails. Extra conditions on the deny statement would
    let some plain-HTTP requests through, so only a statement conditioned on SecureTransport
    alone counts."""
    yield from each_bucket(ctx, _tls_enforced)


def _tls_enforced(ctx: CheckContext, name: str, arn: str, region: str) -> Iterator[Finding]:
    answer = ctx.read_optional("s3", "GetBucketPolicy", region=region, Bucket=name, absent=("NoSuchBucketPolicy",))
    policy = json.loads(answer["Policy"]) if answer and answer.get("Policy") else None
    statements = _as_list((policy or {}).get("Statement", []))
    enforcing = [s for s in statements if isinstance(s, dict) and denies_insecure_transport(s, name, ctx.partition)]
    evidence = {
        "bucket": name,
        "bucket_region": region,
        "has_policy": policy is not None,
        "enforcing_statements": enforcing,
    }
    if enforcing:
        yield ctx.finding(
            Status.PASS,
            resource_id=arn,
            resource_type=BUCKET,
            region=region,
            evidence=evidence,
            message=f"Bucket {name}'s policy denies every request without TLS.",
        )
    else:
        why = "has no bucket policy" if policy is None else "has a policy that does not deny requests without TLS"
        yield ctx.finding(
            Status.FAIL,
            resource_id=arn,
            resource_type=BUCKET,
            region=region,
            evidence=evidence,
            message=f"Bucket {name} {why}.",
        )
