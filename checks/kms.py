"""AWS KMS: keys are held and rotated in a dedicated key management solution (NETSEC-002.4).

Key kinds (``KeyMetadata.KeyManager``): AWS managed keys (``alias/aws/<service>``) are created,
owned and rotated every year by AWS for the account's services; they are listed in the inventory
but are never rotation findings. Customer managed keys are the customer's responsibility.
https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-mgmt
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

KEY = "AWS::KMS::Key"
# Automatic rotation exists only for symmetric encryption keys whose key material KMS generated.
# Asymmetric and HMAC keys, imported key material (Origin EXTERNAL) and keys in custom key stores
# (AWS_CLOUDHSM, EXTERNAL_KEY_STORE) cannot be rotated automatically.
# https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html#rotating-keys-supported
ROTATABLE_SPEC = "SYMMETRIC_DEFAULT"
ROTATABLE_ORIGIN = "AWS_KMS"


def list_keys(ctx: CheckContext) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = ctx.read("kms", "ListKeys").get("Keys", [])
    return keys


def describe_key(ctx: CheckContext, key_arn: str) -> dict[str, Any]:
    """KeyMetadata of one key. Called with the key ARN so that other checks asking about the same
    key (e.g. dynamodb_kms_encryption with a table's KMSMasterKeyArn) share the cached call."""
    metadata: dict[str, Any] = ctx.read("kms", "DescribeKey", KeyId=key_arn).get("KeyMetadata", {})
    return metadata


def key_summary(metadata: dict[str, Any], aliases: list[str] | None = None) -> dict[str, Any]:
    summary = {
        "key_id": metadata.get("KeyId"),
        "key_manager": metadata.get("KeyManager"),
        "key_spec": metadata.get("KeySpec"),
        "key_usage": metadata.get("KeyUsage"),
        "key_state": metadata.get("KeyState"),
        "origin": metadata.get("Origin"),
        "multi_region": bool(metadata.get("MultiRegion")),
        "description": metadata.get("Description") or "",
    }
    if metadata.get("MultiRegion"):
        configuration = metadata.get("MultiRegionConfiguration") or {}
        summary["multi_region_key_type"] = configuration.get("MultiRegionKeyType")
    if metadata.get("DeletionDate"):
        summary["deletion_date"] = str(metadata["DeletionDate"])
    if aliases is not None:
        summary["aliases"] = aliases
    return summary


def rotation_ineligible(metadata: dict[str, Any]) -> str | None:
    """Why a customer managed key is not judged on rotation, or None when it is."""
    state = metadata.get("KeyState")
    if state != "Enabled":
        # Disabled keys encrypt nothing new and their rotation is paused; keys pending deletion
        # are on their way out. https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
        return f"key state is {state}, not Enabled"
    if metadata.get("KeySpec") != ROTATABLE_SPEC:
        return f"{metadata.get('KeySpec')} keys do not support automatic rotation"
    if metadata.get("Origin") != ROTATABLE_ORIGIN:
        origin = metadata.get("Origin")
        return f"keys with origin {origin} do not support automatic rotation (rotate manually)"
    return None


@check(
    id="kms_cmk_rotation",
    title="Customer managed KMS keys rotate automatically",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-002.4",),
    permissions=("kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus"),
    scope=Scope.REGIONAL,
    remediation="Turn on automatic rotation: aws kms enable-key-rotation --key-id <key> "
    "[--rotation-period-in-days 90..2560]. Old key material stays available for decryption.",
)
def kms_cmk_rotation(ctx: CheckContext) -> Iterator[Finding]:
    """Key management includes retiring key material regularly, so that a key that leaked or was
    used too long stops protecting new data. The checklist asks that keys are stored and managed
    in a dedicated key management solution, and its key management policy names the rotation
    practice. Every enabled customer managed symmetric key whose material KMS generated must have
    automatic rotation on. Other customer managed keys (disabled, pending deletion, asymmetric,
    HMAC, imported or custom key store material) are reported as NOT_APPLICABLE with the reason;
    AWS managed keys are rotated by AWS and are not findings."""
    keys = list_keys(ctx)

    def one(child: CheckContext, key: dict[str, Any]) -> Iterator[Finding]:
        arn = key.get("KeyArn") or child.arn("kms", f"key/{key['KeyId']}")
        try:
            metadata = describe_key(child, arn)
        except CallFailed as failure:
            yield child.error(failure, resource_id=arn, resource_type=KEY)
            return
        if metadata.get("KeyManager") == "AWS":
            return  # rotated by AWS: not a finding
        evidence = key_summary(metadata)
        reason = rotation_ineligible(metadata)
        if reason:
            evidence["not_judged_because"] = reason
            yield child.finding(
                Status.NOT_APPLICABLE,
                resource_id=arn,
                resource_type=KEY,
                evidence=evidence,
                message=f"KMS key {metadata.get('KeyId')} is not judged on rotation: {reason}.",
            )
            return
        try:
            rotation = child.read("kms", "GetKeyRotationStatus", KeyId=arn)
        except CallFailed as failure:
            yield child.error(failure, resource_id=arn, resource_type=KEY)
            return
        enabled = bool(rotation.get("KeyRotationEnabled"))
        next_rotation = rotation.get("NextRotationDate")
        evidence.update(
            {
                "rotation_enabled": enabled,
                "rotation_period_days": rotation.get("RotationPeriodInDays"),
                "next_rotation_date": str(next_rotation) if next_rotation else None,
            }
        )
        if enabled:
            period = rotation.get("RotationPeriodInDays")
            every = f" every {period} days" if period else ""
            yield child.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=KEY,
                evidence=evidence,
                message=f"KMS key {metadata.get('KeyId')} rotates automatically{every}.",
            )
        else:
            yield child.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=KEY,
                evidence=evidence,
                message=f"KMS key {metadata.get('KeyId')} does not rotate automatically.",
            )

    judged = list(ctx.each(keys, one))
    yield from judged
    if not judged:
        # Every key answered and none is customer managed: all are AWS managed.
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            evidence={"aws_managed_keys": len(keys)},
            message=f"No customer managed KMS keys in {ctx.region} "
            f"({len(keys)} AWS managed keys, rotated by AWS, are not judged).",
        )


def aliases_by_key(ctx: CheckContext) -> dict[str, list[str]]:
    aliases: dict[str, list[str]] = {}
    for alias in ctx.read("kms", "ListAliases").get("Aliases", []):
        if alias.get("TargetKeyId"):
            aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    return {key: sorted(names) for key, names in aliases.items()}


@check(
    id="kms_key_inventory",
    title="Customer managed keys are held in AWS KMS (key inventory)",
    severity=Severity.INFO,
    criteria=("NETSEC-002.4",),
    permissions=("kms:ListKeys", "kms:DescribeKey", "kms:ListAliases"),
    scope=Scope.REGIONAL,
    remediation="To control keys yourself (key policy, rotation, CloudTrail audit of every use), create "
    "customer managed keys in AWS KMS (aws kms create-key; aws kms enable-key-rotation) and use them for "
    "the data stores; name AWS KMS as the key management solution in the key management policy.",
)
def kms_key_inventory(ctx: CheckContext) -> Iterator[Finding]:
    """Evidence for the key management policy: every KMS key of the region with its manager,
    spec, usage, state, origin and aliases. PASS means the account manages keys of its own in
    AWS KMS (at least one enabled customer managed key); NOT_APPLICABLE means the region holds
    no enabled customer managed key (services then use AWS managed or AWS owned keys, which
    also live in KMS). The inventory never FAILs: keys kept outside a key management solution
    (in code, on disks) cannot be seen through AWS APIs, so that part of the criterion stays a
    matter for the written policy. It does not claim that the keys are used; the encryption
    checks (rds, efs, dynamodb, ebs, s3) show which key protects each data store."""
    aliases = aliases_by_key(ctx)
    inventory: list[dict[str, Any]] = []
    for key in list_keys(ctx):
        arn = key.get("KeyArn") or ctx.arn("kms", f"key/{key['KeyId']}")
        # A key the scan role cannot describe leaves the inventory incomplete: ERROR (the call is named).
        metadata = describe_key(ctx, arn)
        inventory.append({"arn": arn, **key_summary(metadata, aliases.get(str(metadata.get("KeyId")), []))})
    customer = [k for k in inventory if k["key_manager"] == "CUSTOMER"]
    usable = [k for k in customer if k["key_state"] == "Enabled"]
    evidence = {
        "keys": inventory,
        "customer_managed_keys": len(customer),
        "enabled_customer_managed_keys": len(usable),
        "aws_managed_keys": sum(1 for k in inventory if k["key_manager"] == "AWS"),
    }
    if usable:
        yield ctx.finding(
            Status.PASS,
            evidence=evidence,
            message=f"{len(usable)} enabled customer managed KMS key(s) in {ctx.region} "
            f"({len(inventory)} keys in all).",
        )
    else:
        detail = f"{len(customer)} customer managed key(s), none enabled" if customer else "none customer managed"
        yield ctx.finding(
            Status.NOT_APPLICABLE,
            evidence=evidence,
            message=f"No enabled customer managed KMS key in {ctx.region} ({len(inventory)} keys: {detail}).",
        )
