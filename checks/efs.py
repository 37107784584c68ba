"""Amazon EFS: file systems encrypted at rest (NETSEC-002.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

FILE_SYSTEM = "AWS::EFS::FileSystem"


def file_systems(ctx: CheckContext) -> list[dict[str, Any]]:
    """Every file system of the region (paginated; no parameters, so other checks share the cache)."""
    found: list[dict[str, Any]] = ctx.read("efs", "DescribeFileSystems").get("FileSystems", [])
    return found


@check(
    id="efs_encrypted",
    title="EFS file systems are encrypted at rest",
    severity=Severity.HIGH,
    criteria=("NETSEC-002.3",),
    permissions=("elasticfilesystem:DescribeFileSystems",),
    scope=Scope.REGIONAL,
    remediation="Encryption at rest can only be chosen when a file system is created: create an encrypted "
    "file system (aws efs create-file-system --encrypted [--kms-key-id ...]), copy the data with AWS "
    "DataSync or AWS Backup restore, and switch the mount targets over.",
)
def efs_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    """Shared file systems often hold exports, uploads and application state. The checklist asks
    that native encryption at rest is on by default wherever data is stored. EFS can only be
    encrypted at creation time, so an unencrypted file system needs a migration, which is why it
    should be caught early. The key (AWS managed ``aws/elasticfilesystem`` or customer managed) is
    shown as evidence; either satisfies this criterion.
    https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html"""
    systems = file_systems(ctx)
    if not systems:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No EFS file systems in {ctx.region}.", evidence={})
        return
    for system in systems:
        fs_id = system["FileSystemId"]
        arn = system.get("FileSystemArn") or ctx.arn("elasticfilesystem", f"file-system/{fs_id}")
        evidence = {
            "file_system_id": fs_id,
            "name": system.get("Name") or "",
            "encrypted": bool(system.get("Encrypted")),
            "kms_key_id": system.get("KmsKeyId"),
            "life_cycle_state": system.get("LifeCycleState"),
        }
        label = f"{fs_id} ({evidence['name']})" if evidence["name"] else fs_id
        if evidence["encrypted"]:
            yield ctx.finding(Status.PASS, resource_id=arn, resource_type=FILE_SYSTEM,
                              message=f"EFS file system {label} is encrypted at rest.", evidence=evidence)
        else:
            yield ctx.finding(Status.FAIL, resource_id=arn, resource_type=FILE_SYSTEM,
                              message=f"EFS file system {label} is not encrypted at rest.", evidence=evidence)
