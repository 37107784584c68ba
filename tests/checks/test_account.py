"""account_contacts_set: PASS, FAIL and ERROR through the runner."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import account as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only

CHECK = "account_contacts_set"


def test_all_contacts_on_corporate_domain_pass(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.contacts(World())
    finding = only(run_scan([CHECK]), CHECK)
    assert finding.status is Status.PASS
    assert finding.resource_id == ACCOUNT and finding.region == "global"
    assert finding.evidence["alternate_contacts"]["SECURITY"]["email"] == "security@acme.example"
    assert finding.evidence["primary_contact"]["CompanyName"] == "Acme Ltd"


def test_free_mail_security_contact_fails(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.contacts(World(), free_mail_for="SECURITY")
    finding = only(run_scan([CHECK]), CHECK)
    assert finding.status is Status.FAIL
    assert finding.evidence["problems"] == ["SECURITY contact uses free-mail domain gmail.com"]
    assert finding.remediation


def test_missing_billing_contact_and_primary_fail(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.contacts(World(), types=("SECURITY", "OPERATIONS"), primary=False)
    finding = only(run_scan([CHECK]), CHECK)
    assert finding.status is Status.FAIL
    assert "no BILLING alternate contact" in finding.evidence["problems"]
    assert any("primary" in p for p in finding.evidence["problems"])


def test_denied_alternate_contact_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.contacts(World())
    faults.deny("account:GetAlternateContact")
    finding = only(run_scan([CHECK]), CHECK)
    assert finding.status is Status.ERROR
    assert finding.evidence["action"] == "account:GetAlternateContact"
    assert finding.evidence["error_code"] == "AccessDeniedException"
