"""Credentials for one target: the default chain or a profile, optionally an assumed role.

Assumed-role credentials are refreshable: botocore calls back into :func:`assume_role` a few
minutes before they expire, so a long scan never runs on expired credentials. All AWS calls
(including sts:AssumeRole and sts:GetCallerIdentity) still go through :mod:`scanner.gateway`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
from botocore.credentials import RefreshableCredentials

from scanner import __version__
from scanner.gateway import CallFailed, CallLog, ClientFactory, Gateway, assume_role, botocore_config


class TargetUnreachable(Exception):
    """No usable credentials, or the role could not be assumed: nothing was scanned."""


@dataclass(frozen=True)
class ConnectOptions:
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    endpoint_url: str | None = None
    home_region: str = "us-east-1"
    session_name: str = "govscan"
    duration_seconds: int = 3600
    max_pool: int = 32
    max_attempts: int = 6
    connect_timeout: float = 5
    read_timeout: float = 30

    @property
    def effective_endpoint(self) -> str | None:
        # botocore honours AWS_ENDPOINT_URL by itself, but the client config depends on knowing it.
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


@dataclass(frozen=True)
class Connection:
    gateway: Gateway
    account_id: str
    partition: str
    principal_arn: str
    role_arn: str | None


def _base_session(options: ConnectOptions) -> boto3.Session:
    try:
        return boto3.Session(profile_name=options.profile, region_name=options.home_region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise TargetUnreachable(f"AWS profile {options.profile!r} not found in ~/.aws/config or credentials") from exc


def connect(options: ConnectOptions, calls: CallLog | None = None) -> Connection:
    """Credentials, optional assume-role, and the caller identity. Raises :class:`TargetUnreachable`."""
    calls = calls or CallLog()
    if options.role_arn and options.duration_seconds < 1800:
        # botocore refreshes assumed-role credentials once fewer than 15 minutes remain; a
        # shorter session would call sts:AssumeRole before every request.
        raise ValueError("the role session duration must be at least 1800 seconds")
    endpoint = options.effective_endpoint
    config = botocore_config(
        __version__,
        endpoint_url=endpoint,
        max_pool=options.max_pool,
        max_attempts=options.max_attempts,
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
    )
    base = _base_session(options)
    if base.get_credentials() is None:
        raise TargetUnreachable(
            "No AWS credentials found. Use --profile, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY for the account that may assume the scan role."
        )
    session = base
    if options.role_arn:
        base_clients = ClientFactory(base, config, endpoint)

        def refresh() -> dict[str, Any]:
            creds = assume_role(
                base_clients,
                calls,
                role_arn=options.role_arn or "",
                external_id=options.external_id,
                session_name=options.session_name,
                duration_seconds=options.duration_seconds,
                region=options.home_region,
            )
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        try:
            metadata = refresh()
        except CallFailed as exc:
            raise TargetUnreachable(
                f"Could not assume {options.role_arn}: {_cause(exc)}. {_advice(exc, options)}"
            ) from exc
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=refresh, method="sts-assume-role"
        )
        core = botocore.session.get_session()
        core._credentials = credentials  # the documented way to hand boto3 refreshable credentials
        session = boto3.Session(botocore_session=core, region_name=options.home_region)
    gateway = Gateway(ClientFactory(session, config, endpoint), calls)
    try:
        identity = gateway.read("sts", "GetCallerIdentity", options.home_region)[1] or {}
    except CallFailed as exc:
        raise TargetUnreachable(
            f"Could not confirm who we are (sts:GetCallerIdentity): {_cause(exc)}. {_advice(exc, options)}"
        ) from exc
    arn = str(identity.get("Arn", ""))
    return Connection(
        gateway=gateway,
        account_id=str(identity.get("Account", "")),
        partition=arn.split(":")[1] if arn.count(":") >= 2 else "aws",
        principal_arn=arn,
        role_arn=options.role_arn,
    )


_NETWORK_ERRORS = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
    }
)
_BAD_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)


def _cause(exc: CallFailed) -> str:
    message = exc.call.error_message or ""
    return f"{exc.error_code} ({message})" if message and message != exc.error_code else exc.error_code


def _advice(exc: CallFailed, options: ConnectOptions) -> str:
    """What to do next, by kind of failure (a network error is not a rejected credential)."""
    code = exc.error_code
    if code in _NETWORK_ERRORS:
        where = options.endpoint_url or f"the STS endpoint of {options.home_region}"
        return f"{where} could not be reached: check the network or proxy, the region, or --endpoint-url."
    if code in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"):
        return (
            "No usable starting credentials: pass --profile (or profile = in the accounts file), or set "
            "AWS_PROFILE / the AWS_ACCESS_KEY_ID variables, or sign in (aws sso login)."
        )
    if code in _BAD_CREDENTIALS:
        return (
            "The starting credentials are invalid or expired: refresh them (aws sso login, or new keys) "
            "and check the profile."
        )
    if options.role_arn and code in ("AccessDenied", "AccessDeniedException"):
        return (
            "The role's trust policy did not admit these credentials: check its principal (the partner "
            "account or role govscan runs as) and its sts:ExternalId condition against the external id "
            "given (--external-id, or external_id in the accounts file)."
        )
    return "Check the credentials and, for a role, its trust policy and external id."
