"""The one door to AWS: read-only, cached, recorded.

Every AWS request govscan makes goes through :class:`Gateway` (checks reach it as
``ctx.read``). Before anything is sent, the operation is checked against the read-only
allow-list in :mod:`scanner.permissions`; a refused call is recorded and raised, and no
client method is ever invoked for it. Every call is recorded (action, region, parameters,
time, outcome) so that findings can cite the calls behind them.

Absent versus denied: some APIs answer "nothing configured" with an error code
(``iam:GetAccountPasswordPolicy`` -> ``NoSuchEntity``; ``s3:GetBucketPolicy`` ->
``NoSuchBucketPolicy``). A caller names those codes in ``absent=`` and gets ``None``: that is
data. Every other error (denied, throttled after retries, endpoint down) raises
:class:`CallFailed`, which the runner turns into an ERROR finding naming the call. A check
therefore never sees "empty" that really means "not allowed to look".
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
from botocore import xform_name
from botocore.config import Config

from scanner.models import Call, CallOutcome
from scanner.permissions import is_read_only

log = logging.getLogger(__name__)

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "OptInRequired",
    }
)
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
_SECRET_PARAM = re.compile(r"(password|secret|token|credential|externalid)", re.IGNORECASE)


# botocore's errors for an endpoint that cannot be reached or does not answer (after retries).
UNRESPONSIVE_ERRORS = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
)


class CallFailed(Exception):
    """A read could not be answered: denied, throttled out, or failed. Never data."""

    def __init__(self, call: Call, message: str) -> None:
        self.call = call
        super().__init__(message)

    @property
    def action(self) -> str:
        return self.call.action

    @property
    def error_code(self) -> str:
        return self.call.error_code or self.call.outcome.value


class ReadOnlyViolation(CallFailed):
    """A non-read operation was asked for. It was refused before anything was sent."""


class ScanStopped(BaseException):
    """The scan was stopped (Ctrl-C, SIGTERM, an interrupted portfolio): no further read goes out.

    A BaseException, like KeyboardInterrupt, so that no check's ``except Exception`` turns a
    stop into a finding: the check's thread simply ends and the runner marks the run incomplete.
    """


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def botocore_config(
    version: str,
    *,
    endpoint_url: str | None,
    max_pool: int = 32,
    max_attempts: int = 6,
    connect_timeout: float = 5,
    read_timeout: float = 30,
) -> Config:
    """One botocore Config for every client: adaptive retries, bounded timeouts, our user agent.

    Adaptive mode retries throttling errors with exponential backoff and, on top, slows the
    client's own request rate when AWS throttles it. ``max_attempts`` is botocore's: retries
    after the first attempt. With 6, a call that stays throttled gives up after about half a
    minute and becomes an ERROR finding. An endpoint that does not answer costs one call's
    attempts (7 x the read timeout); the gateway then treats it as down for the rest of the
    scan, so one dead regional endpoint cannot stall a scan.
    """
    return Config(
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool,
        user_agent_extra=f"govscan/{version}",
        # Against an emulator the service's host prefixes (e.g. "data." or "<account>.")
        # produce host names that do not resolve.
        inject_host_prefix=endpoint_url is None,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )


def strip_s3control_account_prefix(request: Any, **_: Any) -> None:
    """Remove the ``<account-id>.`` host prefix s3control's endpoint rules add.

    Against a local endpoint ``123456789012.127.0.0.1:PORT`` does not resolve, and
    ``inject_host_prefix=False`` does not stop the endpoint rules from adding it.
    """
    request.url = re.sub(r"//\d{12}\.", "//", request.url, count=1)


@dataclass
class CallLog:
    """Thread-safe, append-only record of every call of one scan."""

    _calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    listeners: list[Callable[[Call], None]] = field(default_factory=list)

    def add(self, **fields: Any) -> Call:
        with self._lock:
            call = Call(id=f"c{len(self._calls) + 1:05d}", **fields)
            self._calls.append(call)
        log.info(
            "%s %s %s %s%s (%d ms)",
            call.id,
            call.action,
            call.region,
            call.outcome.value,
            f" {call.error_code}" if call.error_code else "",
            call.duration_ms,
        )
        for listener in self.listeners:
            listener(call)
        return call

    def snapshot(self) -> tuple[Call, ...]:
        with self._lock:
            return tuple(self._calls)

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)


class ClientFactory:
    """Creates and caches boto3 clients: the only place in govscan that does."""

    def __init__(self, session: boto3.Session, config: Config, endpoint_url: str | None) -> None:
        self.session = session
        self.config = config
        self.endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                client = self.session.client(
                    service, region_name=region, config=self.config, endpoint_url=self.endpoint_url
                )
                if self.endpoint_url and service == "s3control":
                    client.meta.events.register("before-sign.s3-control.*", strip_s3control_account_prefix)
                self._clients[key] = client
            return self._clients[key]


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.call: Call | None = None
        self.response: dict[str, Any] | None = None
        self.error: CallFailed | None = None
        self.crash: BaseException | None = None


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))


def _recordable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as evidence: anything that looks like a secret is redacted."""
    return {k: ("<redacted>" if _SECRET_PARAM.search(k) else v) for k, v in params.items()}


class Gateway:
    """Read-only, cached, recorded access to one account."""

    def __init__(self, clients: ClientFactory, calls: CallLog | None = None) -> None:
        self.clients = clients
        self.calls = calls or CallLog()
        self._cache: dict[tuple[str, str, str, str], _Pending] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        # (service, region) -> the error that showed its endpoint down (see _send).
        self._unresponsive: dict[tuple[str, str], str] = {}

    def stop(self) -> None:
        """Refuse every read from now on (reads already sent finish): checks under way end quickly."""
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def read(
        self,
        service: str,
        operation: str,
        region: str,
        params: Mapping[str, Any] | None = None,
        *,
        absent: Iterable[str] = (),
        poll: int = 0,
    ) -> tuple[Call, dict[str, Any] | None]:
        """Make (or reuse) one read. Returns the call record and the merged response.

        The response is ``None`` only when the API answered one of the ``absent`` codes.
        Raises :class:`CallFailed` for anything else that went wrong. ``poll`` distinguishes
        the attempts of an operation that must be asked again until it is ready (e.g.
        ``iam:GenerateCredentialReport``); each attempt is itself cached and recorded.
        """
        if self._stopped.is_set():
            raise ScanStopped(f"{service}:{operation} was not sent: the scan was stopped")
        params = dict(params or {})
        absent_codes = frozenset(absent)
        key = (service, operation, region, f"{_canonical(params)}|{','.join(sorted(absent_codes))}|{poll}")
        with self._lock:
            pending = self._cache.get(key)
            owner = pending is None
            if pending is None:
                pending = self._cache[key] = _Pending()
        if owner:
            try:
                pending.call, pending.response = self._send(service, operation, region, params, absent_codes)
            except CallFailed as failure:
                pending.call, pending.error = failure.call, failure
            except BaseException as exc:  # a defect (e.g. an unknown operation): every asker sees it
                pending.crash = exc
                raise
            finally:
                pending.done.set()
        else:
            pending.done.wait()
        if pending.crash is not None:
            raise pending.crash
        if pending.error is not None:
            raise pending.error
        assert pending.call is not None
        return pending.call, pending.response

    def _send(
        self,
        service: str,
        operation: str,
        region: str,
        params: dict[str, Any],
        absent: frozenset[str],
    ) -> tuple[Call, dict[str, Any] | None]:
        action = f"{service}:{operation}"
        at = utc_now()
        record = {"action": action, "region": region, "params": _recordable(params), "at": at}
        if not is_read_only(service, operation):
            call = self.calls.add(**record, outcome=CallOutcome.REFUSED, error_code="ReadOnlyViolation")
            raise ReadOnlyViolation(call, f"{action} is not a read; govscan refused to send it")
        down = self._unresponsive.get((service, region))
        if down is not None:
            # Each call to a hanging endpoint costs 1 + max_attempts read timeouts (3.5 minutes with
            # the defaults): after one call has used up its retries, the endpoint is taken as down
            # for this scan and later calls fail at once, so a dead region cannot stall the scan.
            call = self.calls.add(
                **record,
                outcome=CallOutcome.FAILED,
                error_code="EndpointUnresponsive",
                error_message=f"not sent: an earlier {service} call in {region} failed with {down}",
            )
            raise CallFailed(call, f"{action} in {region} not sent: the endpoint did not answer ({down})")
        client = self.clients.client(service, region)
        method = xform_name(operation)
        if operation not in client.meta.service_model.operation_names:
            raise ValueError(f"{service} has no operation {operation!r}")
        started = time.monotonic()
        pages = 0
        try:
            if client.can_paginate(method):
                paginator = client.get_paginator(method)
                page_iter = paginator.paginate(**params)
                response, pages = _merge_pages(page_iter)
            else:
                response = getattr(client, method)(**params)
                pages = 1
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "ClientError")
            message = str(error.get("Message") or "")
            elapsed = int((time.monotonic() - started) * 1000)
            if code in absent:
                call = self.calls.add(
                    **record, outcome=CallOutcome.ABSENT, error_code=code, pages=pages + 1, duration_ms=elapsed
                )
                return call, None
            outcome = (
                CallOutcome.DENIED
                if code in DENIED_CODES
                else CallOutcome.THROTTLED
                if code in THROTTLE_CODES
                else CallOutcome.FAILED
            )
            call = self.calls.add(
                **record, outcome=outcome, error_code=code, error_message=message[:500], duration_ms=elapsed
            )
            raise CallFailed(call, f"{action} in {region} {outcome.value}: {code}: {message}".strip()) from exc
        except Exception as exc:  # endpoint down, timeout, unparsable answer: a failed call, never data
            code = type(exc).__name__
            if code in UNRESPONSIVE_ERRORS:
                with self._lock:
                    self._unresponsive.setdefault((service, region), code)
            call = self.calls.add(
                **record,
                outcome=CallOutcome.FAILED,
                error_code=code,
                error_message=str(exc)[:500],
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            raise CallFailed(call, f"{action} in {region} failed: {code}: {exc}") from exc
        response.pop("ResponseMetadata", None)
        call = self.calls.add(
            **record,
            outcome=CallOutcome.OK,
            pages=pages,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        return call, response


def _merge_pages(page_iter: Any) -> tuple[dict[str, Any], int]:
    """botocore's own ``build_full_result`` (it knows nested result keys such as
    ``DistributionList.Items``), with every page request counted."""
    pages = 0
    make_request = page_iter._make_request

    def counting(current_kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        return make_request(current_kwargs)

    page_iter._make_request = counting
    merged: dict[str, Any] = page_iter.build_full_result()
    if merged.pop("NextToken", None) is not None:
        # PaginationConfig.MaxItems cut the listing short: say so rather than pretend it is whole.
        merged["Truncated"] = True
    for token_key in ("Marker", "NextMarker", "nextToken", "IsTruncated", "ContinuationToken"):
        merged.pop(token_key, None)
    merged.pop("ResponseMetadata", None)
    return merged, pages


def assume_role(
    clients: ClientFactory,
    calls: CallLog,
    *,
    role_arn: str,
    external_id: str | None,
    session_name: str,
    duration_seconds: int,
    region: str,
) -> dict[str, Any]:
    """``sts:AssumeRole`` for the scan role; recorded (the external id is redacted), never cached.

    Not a read, but reviewed: it obtains temporary credentials and changes nothing in the
    account. Called again by the refreshable credentials when they near expiry.
    """
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": duration_seconds,
    }
    if external_id:
        params["ExternalId"] = external_id
    record = {"action": "sts:AssumeRole", "region": region, "params": _recordable(params), "at": utc_now()}
    assert is_read_only("sts", "AssumeRole")
    started = time.monotonic()
    try:
        response = clients.client("sts", region).assume_role(**params)
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "ClientError")
        call = calls.add(
            **record,
            outcome=CallOutcome.DENIED if code in DENIED_CODES else CallOutcome.FAILED,
            error_code=code,
            error_message=str(error.get("Message") or "")[:500],
        )
        raise CallFailed(call, f"sts:AssumeRole {role_arn} failed: {code}: {error.get('Message', '')}") from exc
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        call = calls.add(**record, outcome=CallOutcome.FAILED, error_code=type(exc).__name__, error_message=str(exc))
        raise CallFailed(call, f"sts:AssumeRole {role_arn} failed: {exc}") from exc
    calls.add(**record, outcome=CallOutcome.OK, pages=1, duration_ms=int((time.monotonic() - started) * 1000))
    credentials: dict[str, Any] = response["Credentials"]
    return credentials
