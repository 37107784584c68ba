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
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


# --- TLS-only bucket policies (pure) -----------------------------------------------------------
# IAM wildcards: "*" any run of characters, "?" one character; action names are matched
# case-insensitively, resource ARNs case-sensitively.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html


def _glob_matches(pattern: str, value: str, *, ignore_case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _covers_everything_under(pattern: str, prefix: str, *, ignore_case: bool) -> bool:
    """True when ``pattern`` matches ``prefix`` followed by any string at all: the pattern ends in
    ``*`` and what comes before that star matches a leading part of ``prefix`` (sound: never
    True for a pattern that misses some name)."""
    stem = pattern.rstrip("*")
    if stem == pattern:
        return False
    return any(_glob_matches(stem, prefix[:i], ignore_case=ignore_case) for i in range(len(prefix) + 1))


def _everyone(principal: Any) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (also in a list, or beside other principal types)."""
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))


def _all_s3_actions(actions: Any) -> bool:
    """``s3:*``, ``S3:*``, ``*``, ``*:*``, ``s3*``...: some pattern matches every S3 action."""
    return any(
        isinstance(a, str) and _covers_everything_under(a, "s3:", ignore_case=True) for a in _as_list(actions)
    )


def _only_condition(statement: dict[str, Any], operators: tuple[str, ...], key: str) -> list[Any] | None:
    """The values of the statement's single condition when it is ``operator: {key: values}`` with
    ``operator`` among ``operators`` (condition keys are case-insensitive); else ``None``. Any
    other operator or key beside it narrows the statement, so it does not count."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or len(condition) != 1:
        return None
    operator, block = next(iter(condition.items()))
    if operator not in operators or not isinstance(block, dict) or len(block) != 1:
        return None
    name, values = next(iter(block.items()))
    if str(name).lower() != key:
        return None
    listed = _as_list(values)
    return listed or None


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _everyone_everything_deny(statement: Any) -> bool:
    return (
        isinstance(statement, dict)
        and statement.get("Effect") == "Deny"
        and not {"NotPrincipal", "NotAction", "NotResource"} & statement.keys()
        and _everyone(statement.get("Principal"))
        and _all_s3_actions(statement.get("Action", []))
    )


def denies_insecure_transport(statement: Any) -> bool:
    """The statement denies everyone every S3 action whenever ``aws:SecureTransport`` is false
    (on whatever resources it names; :func:`tls_enforcement` combines the resources).

    ``Bool`` or ``BoolIfExists`` with ``false`` (boolean, ``"false"`` or ``["false"]``) is the
    form AWS documents: a request over plain HTTP carries ``aws:SecureTransport=false``.
    Statements with ``NotPrincipal``/``NotAction``/``NotResource``, narrower actions or any
    further condition do not count (they leave some plain-HTTP requests allowed).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit
    """
    if not _everyone_everything_deny(statement):
        return False
    values = _only_condition(statement, ("Bool", "BoolIfExists"), "aws:securetransport")
    return values is not None and all(_is_false(v) for v in values)


def _tls_version_floor(statement: Any) -> float | None:
    """The version of a ``NumericLessThan {"s3:TlsVersion": "1.2"}`` deny-everyone-everything statement."""
    if not _everyone_everything_deny(statement):
        return None
    values = _only_condition(statement, ("NumericLessThan",), "s3:tlsversion")
    if values is None or len(values) != 1:
        return None
    try:
        return float(values[0])
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class TlsEnforcement:
    """What a bucket policy does about plain-HTTP requests to one bucket."""

    covers_bucket: bool  # bucket-level requests (arn:...:bucket) are denied without TLS
    covers_objects: bool  # every object (arn:...:bucket/*) is
    statements: tuple[dict[str, Any], ...]  # the SecureTransport deny statements that touch the bucket
    min_tls_version: float | None  # a NumericLessThan s3:TlsVersion deny covering both, if any

    @property
    def enforced(self) -> bool:
        return self.covers_bucket and self.covers_objects


def _coverage(statements: list[dict[str, Any]], bucket_arn: str) -> tuple[bool, bool, list[dict[str, Any]]]:
    covers_bucket = covers_objects = False
    touching: list[dict[str, Any]] = []
    for statement in statements:
        resources = [r for r in _as_list(statement.get("Resource", [])) if isinstance(r, str)]
        on_bucket = any(_glob_matches(r, bucket_arn, ignore_case=False) for r in resources)
        on_objects = any(_covers_everything_under(r, f"{bucket_arn}/", ignore_case=False) for r in resources)
        covers_bucket, covers_objects = covers_bucket or on_bucket, covers_objects or on_objects
        if on_bucket or on_objects:
            touching.append(statement)
    return covers_bucket, covers_objects, touching


def tls_enforcement(policy: Any, bucket: str, partition: str) -> TlsEnforcement:
    """Whether the policy denies every request without TLS to the bucket and all its objects.

    The resources of all qualifying deny statements (:func:`denies_insecure_transport`) are
    combined: one statement on ``arn:aws:s3:::b`` and another on ``arn:aws:s3:::b/*`` enforce
    TLS as one statement on both does. A deny of ``s3:TlsVersion`` below a version
    (``NumericLessThan``) is reported when it covers the bucket and its objects, but does not
    enforce TLS by itself (a plain-HTTP request has no TLS version, so it does not match)."""
    raw = (policy or {}).get("Statement", []) if isinstance(policy, dict) else []
    statements = [s for s in _as_list(raw) if isinstance(s, dict)]
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    on_bucket, on_objects, touching = _coverage([s for s in statements if denies_insecure_transport(s)], bucket_arn)
    floors = [(v, s) for s in statements if (v := _tls_version_floor(s)) is not None]
    floor_bucket, floor_objects, _ = _coverage([s for _, s in floors], bucket_arn)
    min_version = min(v for v, _ in floors) if floors and floor_bucket and floor_objects else None
    return TlsEnforcement(on_bucket, on_objects, tuple(touching), min_version)


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
    (NETSEC-002.1). A bucket with no policy fails. The deny must apply to everyone (``*`` or
    ``{"AWS": "*"}``), every S3 action (``s3:*``, ``*``, ``*:*``, any case) and both the bucket
    and all its objects -- possibly across several statements, whose resources are combined --
    and be conditioned on SecureTransport alone (``Bool`` or ``BoolIfExists`` false): extra
    conditions would let some plain-HTTP requests through. A deny of old TLS versions
    (``NumericLessThan s3:TlsVersion``) is reported as ``min_tls_version``, a plus that does not
    replace the SecureTransport deny. See :func:`tls_enforcement`."""
    yield from each_bucket(ctx, _tls_enforced)


def _tls_enforced(ctx: CheckContext, name: str, arn: str, region: str) -> Iterator[Finding]:
    answer = ctx.read_optional("s3", "GetBucketPolicy", region=region, Bucket=name, absent=("NoSuchBucketPolicy",))
    policy = json.loads(answer["Policy"]) if answer and answer.get("Policy") else None
    result = tls_enforcement(policy, name, ctx.partition)
    evidence = {
        "bucket": name,
        "bucket_region": region,
        "has_policy": policy is not None,
        "enforcing_statements": list(result.statements),
        "denies_http_on_bucket": result.covers_bucket,
        "denies_http_on_objects": result.covers_objects,
        "min_tls_version": result.min_tls_version,
    }
    floor = f" and requests below TLS {result.min_tls_version}" if result.min_tls_version is not None else ""
    if result.enforced:
        yield ctx.finding(
            Status.PASS,
            resource_id=arn,
            resource_type=BUCKET,
            region=region,
            evidence=evidence,
            message=f"Bucket {name}'s policy denies every request without TLS{floor}.",
        )
        return
    if policy is None:
        why = "has no bucket policy"
    elif result.covers_bucket or result.covers_objects:
        part = "the bucket itself" if result.covers_bucket else "its objects"
        missing = "its objects" if result.covers_bucket else "the bucket itself"
        why = f"has a policy that denies requests without TLS on {part} but not on {missing}"
    else:
        why = "has a policy that does not deny requests without TLS"
    yield ctx.finding(
        Status.FAIL,
        resource_id=arn,
        resource_type=BUCKET,
        region=region,
        evidence=evidence,
        message=f"Bucket {name} {why}.",
    )
