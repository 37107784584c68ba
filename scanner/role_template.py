"""The scan role for a customer account: CloudFormation, or the bare IAM policy.

The permissions policy is exactly the union of the selected checks' declared ``permissions``
plus the engine's own region discovery (no wildcard actions), so the role can do what govscan
reads and nothing else. The
trust policy admits only the partner's principal, and only with the agreed ``sts:ExternalId``
(the confused-deputy guard AWS recommends for third parties:
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html).
``Resource: "*"`` is required: most Describe/List actions support no resource-level scoping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from scanner import __version__
from scanner.models import CheckSpec

POLICY_NAME = "govscan-read-only"

# What the engine itself calls in every scan, whatever checks are selected: the account's
# regions and their opt-in status (runner.resolve_regions; without it --all-regions could not
# be honoured). sts:GetCallerIdentity needs no permission. Every other action is a check's.
ENGINE_PERMISSIONS = ("ec2:DescribeRegions",)


def permission_union(checks: Mapping[str, CheckSpec]) -> list[str]:
    """The engine's permissions plus every selected check's declared permissions."""
    return sorted({*ENGINE_PERMISSIONS, *(permission for spec in checks.values() for permission in spec.permissions)})


def iam_policy(checks: Mapping[str, CheckSpec]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GovscanReadOnlyEvidence",
                "Effect": "Allow",
                "Action": permission_union(checks),
                "Resource": "*",
            }
        ],
    }


def cloudformation(checks: Mapping[str, CheckSpec], *, check_ids: Iterable[str] = ()) -> dict[str, Any]:
    """A CloudFormation template (JSON) creating the scan role."""
    selected = sorted(check_ids) or sorted(checks)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"govscan {__version__} read-only scan role: {len(selected)} checks, "
            f"{len(permission_union(checks))} read actions, external id required."
        ),
        "Parameters": {
            "TrustedPrincipalArn": {
                "Type": "String",
                "Description": "The partner principal allowed to assume this role (an account root, role or user ARN).",
                "AllowedPattern": r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$",
                "ConstraintDescription": "an IAM ARN such as arn:aws:iam::111122223333:role/PartnerScanner",
            },
            "ExternalId": {
                "Type": "String",
                "Description": "The secret external id agreed with the partner (16+ characters).",
                "MinLength": 16,
                "MaxLength": 1224,
                "AllowedPattern": r"^[\w+=,.@:/-]+$",
                "NoEcho": True,
            },
            "RoleName": {"Type": "String", "Default": "GovscanReadOnly", "Description": "Name of the scan role."},
            "MaxSessionDuration": {
                "Type": "Number",
                "Default": 3600,
                "MinValue": 3600,
                "MaxValue": 14400,
                "Description": "Longest scan session in seconds (govscan refreshes credentials as they expire).",
            },
        },
        "Resources": {
            "ScanRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "Description": "Read-only role assumed by govscan to collect SMB Competency evidence",
                    "MaxSessionDuration": {"Ref": "MaxSessionDuration"},
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": {"Ref": "TrustedPrincipalArn"}},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                            }
                        ],
                    },
                    "Policies": [{"PolicyName": POLICY_NAME, "PolicyDocument": iam_policy(checks)}],
                    "Tags": [{"Key": "managed-by", "Value": "govscan"}],
                },
            }
        },
        "Outputs": {
            "RoleArn": {
                "Description": "Pass this to govscan scan --role-arn (with --external-id)",
                "Value": {"Fn::GetAtt": ["ScanRole", "Arn"]},
            }
        },
    }


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
