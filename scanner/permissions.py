"""Which IAM action authorises which API operation, and which operations count as reads.

Most AWS operations are authorised by the IAM action of the same name under the service's
prefix. The exceptions below are where IAM and the API disagree; each was looked up in the
Service Authorization Reference ("Actions, resources, and condition keys for <service>").
"""

from __future__ import annotations

# botocore service name -> IAM action prefix, where they differ.
IAM_PREFIX: dict[str, str] = {
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "efs": "elasticfilesystem",
    "s3control": "s3",
    "sso-admin": "sso",
    "resourcegroupstaggingapi": "tag",
    "application-autoscaling": "application-autoscaling",
}

# "service:Operation" (botocore names) -> IAM action, where the action is not the operation name.
IAM_ACTION: dict[str, str] = {
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "s3:HeadBucket": "s3:ListBucket",
    "s3control:GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
    "budgets:DescribeBudgets": "budgets:ViewBudget",
    "budgets:DescribeNotificationsForBudget": "budgets:ViewBudget",
    "budgets:DescribeSubscribersForNotification": "budgets:ViewBudget",
    "cloudformation:GetTemplate": "cloudformation:GetTemplate",
    # GetCallerIdentity needs no permission at all; it is listed so the recorded call maps somewhere.
    "sts:GetCallerIdentity": "sts:GetCallerIdentity",
}

# Prefixes of operation names that only read. Checked on the botocore operation name.
READ_PREFIXES: tuple[str, ...] = ("Describe", "Get", "List", "Lookup", "Head", "BatchGet")

# Reviewed operations outside the prefixes that change nothing a customer relies on.
REVIEWED_READS: frozenset[str] = frozenset(
    {
        # Builds the credential report server-side; changes no identity, policy or resource.
        "iam:GenerateCredentialReport",
        # Obtains the scan role's temporary credentials; changes nothing in the account.
        "sts:AssumeRole",
    }
)

# Reads govscan must never make even though their names look harmless: they return secret
# values, object contents or credentials, none of which may reach evidence.
REFUSED_READS: frozenset[str] = frozenset(
    {
        "secretsmanager:GetSecretValue",
        "secretsmanager:BatchGetSecretValue",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "s3:GetObject",
        "s3:GetObjectTorrent",
        "ecr:GetAuthorizationToken",
        "sts:GetSessionToken",
        "sts:GetFederationToken",
        "kms:GetParametersForImport",
        "iam:GetSSHPublicKey",
        "lambda:GetFunction",  # returns a pre-signed URL to the code package
    }
)


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorises ``service:operation`` (botocore names)."""
    key = f"{service}:{operation}"
    if key in IAM_ACTION:
        return IAM_ACTION[key]
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


def is_read_only(service: str, operation: str) -> bool:
    key = f"{service}:{operation}"
    if key in REFUSED_READS:
        return False
    if key in REVIEWED_READS:
        return True
    return operation.startswith(READ_PREFIXES)
