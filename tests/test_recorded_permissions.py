"""Registry invariant on real scans: every call a check makes is one of its declared permissions.

The four demo accounts (fixtures/demo.py) exercise every check's code paths that a rich world
reaches. For each finding, every call it cites must map (scanner.permissions.iam_action) to an
IAM action the check declares; the scan role template grants exactly those, so a check that
called anything else would fail for real customers with an AccessDenied ERROR.
"""

from __future__ import annotations

import pytest

from fixtures.demo import build_portfolio
from scanner.catalog import load_catalog
from scanner.models import CallOutcome
from scanner.permissions import iam_action, is_read_only
from scanner.registry import load_checks
from scanner.role_template import iam_policy
from scanner.runner import ScanOptions, scan
from scanner.session import ConnectOptions, connect

pytestmark = pytest.mark.slow
# Made by the partner's principal (AssumeRole) or needing no permission (GetCallerIdentity).
NO_ROLE_PERMISSION = {"sts:GetCallerIdentity", "sts:AssumeRole"}


def test_every_recorded_call_is_declared_and_read_only(moto_endpoint: str) -> None:
    registry = load_checks()
    role_actions = set(iam_policy(registry)["Statement"][0]["Action"])
    accounts = build_portfolio(moto_endpoint)
    exercised: set[str] = set()
    problems: list[str] = []
    for account in accounts:
        connection = connect(
            ConnectOptions(
                role_arn=account.role_arn, external_id=account.external_id, endpoint_url=moto_endpoint
            )
        )
        run = scan(
            connection,
            registry,
            load_catalog(),
            ScanOptions(regions=("us-east-1", "eu-west-1"), home_region="us-east-1", workers=8),
        )
        calls = {call.id: call for call in run.calls}
        for call in run.calls:
            service, _, operation = call.action.partition(":")
            assert is_read_only(service, operation), call.action
            assert call.outcome is not CallOutcome.REFUSED, call.action
            # Whatever made it (a check or the engine), the shipped scan role must allow it.
            if call.action not in NO_ROLE_PERMISSION:
                assert iam_action(service, operation) in role_actions, f"the role template lacks {call.action}"
        for finding in run.findings:
            spec = registry[finding.check_id]
            for call_id in finding.calls:
                action = calls[call_id].action
                if action in NO_ROLE_PERMISSION or action == "ec2:DescribeRegions":  # the engine's
                    continue
                service, _, operation = action.partition(":")
                exercised.add(finding.check_id)
                if iam_action(service, operation) not in spec.permissions:
                    problems.append(f"{finding.check_id} called {action} ({iam_action(service, operation)})")
    assert not sorted(set(problems)), sorted(set(problems))
    assert exercised == set(registry), f"checks that made no call: {sorted(set(registry) - exercised)}"
