"""cost_budgets_configured and cost_anomaly_monitoring through the real runner."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import cost as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, ScanFn, only

BUDGETS = "cost_budgets_configured"
ANOMALY = "cost_anomaly_monitoring"


def test_budget_with_notification_passes(run_scan: ScanFn) -> None:
    world = World()
    worlds.budget(world, "silent", notify=False)
    arn = worlds.budget(world, "monthly-cost")
    run = run_scan([BUDGETS], regions=["eu-west-1", "us-east-1"])
    f = only(run, BUDGETS)
    assert f.status is Status.PASS and f.region == "global" and f.resource_id == ACCOUNT
    assert f.evidence["billing_region"] == "us-east-1"
    by_name = {b["budget"]: b for b in f.evidence["budgets"]}
    assert by_name["monthly-cost"]["arn"] == arn == f"arn:aws:budgets::{ACCOUNT}:budget/monthly-cost"
    assert by_name["monthly-cost"]["notifications"] == [
        {
            "type": "ACTUAL",
            "comparison": "GREATER_THAN",
            "threshold": 80.0,
            "threshold_type": "PERCENTAGE",
            "state": None,
        }
    ]
    assert by_name["silent"]["notifications"] == []
    assert "1 of 2" in f.message and "monthly-cost" in f.message
    # The billing APIs were asked in us-east-1 although the scan's home region is eu-west-1.
    assert {c.region for c in run.calls if c.action.startswith("budgets:")} == {"us-east-1"}


def test_budgets_without_notification_fail(run_scan: ScanFn) -> None:
    worlds.budget(World(), "silent", notify=False)
    f = only(run_scan([BUDGETS]), BUDGETS)
    assert f.status is Status.FAIL
    assert "silent" in f.message and f.evidence["budgets"][0]["notifications"] == []
    assert f.remediation


def test_no_budget_fails(run_scan: ScanFn) -> None:
    f = only(run_scan([BUDGETS]), BUDGETS)
    assert f.status is Status.FAIL and f.message == "No AWS Budget exists in the account."
    assert f.evidence["budgets"] == []


def test_denied_describe_budgets_is_error(run_scan: ScanFn) -> None:
    worlds.budget(World())
    faults.deny("budgets:DescribeBudgets")
    f = only(run_scan([BUDGETS]), BUDGETS)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "budgets:DescribeBudgets"
    assert f.evidence["error_code"] == "AccessDeniedException"
    assert "budgets:ViewBudget" in f.message


def test_denied_notifications_of_the_only_budget_is_error(run_scan: ScanFn) -> None:
    worlds.budget(World(), "monthly-cost")
    faults.deny("budgets:DescribeNotificationsForBudget")
    f = only(run_scan([BUDGETS]), BUDGETS)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "budgets:DescribeNotificationsForBudget"
    assert f.evidence["error_code"] == "AccessDeniedException"


def test_anomaly_monitor_with_subscription_passes(run_scan: ScanFn) -> None:
    monitor, subscription = worlds.anomaly_monitor(World(), "services")
    f = only(run_scan([ANOMALY], regions=["eu-west-1"]), ANOMALY)
    assert f.status is Status.PASS and f.region == "global"
    assert monitor.startswith(f"arn:aws:ce::{ACCOUNT}:anomalymonitor/")
    assert [m["arn"] for m in f.evidence["monitors"]] == [monitor]
    assert f.evidence["monitors"][0]["dimension"] == "SERVICE"
    assert [s["arn"] for s in f.evidence["subscriptions"]] == [subscription]
    assert f.evidence["subscriptions"][0]["subscribers"] == [{"type": "EMAIL", "status": "CONFIRMED"}]
    assert f.evidence["subscriptions"][0]["monitors"] == [monitor]


def test_monitor_without_subscription_passes_and_says_nobody_is_notified(run_scan: ScanFn) -> None:
    worlds.anomaly_monitor(World(), "services", subscribe=False)
    f = only(run_scan([ANOMALY]), ANOMALY)
    assert f.status is Status.PASS
    assert "nobody is notified" in f.message and f.evidence["subscriptions"] == []


def test_no_monitor_fails(run_scan: ScanFn) -> None:
    f = only(run_scan([ANOMALY]), ANOMALY)
    assert f.status is Status.FAIL and f.evidence["monitors"] == []


def test_denied_get_anomaly_monitors_is_error(run_scan: ScanFn) -> None:
    worlds.anomaly_monitor(World())
    faults.deny("ce:GetAnomalyMonitors")
    f = only(run_scan([ANOMALY]), ANOMALY)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "ce:GetAnomalyMonitors"
    assert f.evidence["error_code"] == "AccessDeniedException"


def test_denied_subscriptions_keeps_the_verdict_and_says_so(run_scan: ScanFn) -> None:
    monitor, _ = worlds.anomaly_monitor(World())
    faults.deny("ce:GetAnomalySubscriptions")
    f = only(run_scan([ANOMALY]), ANOMALY)
    assert f.status is Status.PASS
    assert f.evidence["subscriptions_error"]["action"] == "ce:GetAnomalySubscriptions"
    assert f.evidence["subscriptions_error"]["error_code"] == "AccessDeniedException"
    assert [m["arn"] for m in f.evidence["monitors"]] == [monitor]
