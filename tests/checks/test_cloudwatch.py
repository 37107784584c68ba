"""cloudwatch_alarms_actionable and cloudwatch_log_retention through the real runner."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import cloudwatch as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, ScanFn, only

ALARMS = "cloudwatch_alarms_actionable"
LOGS = "cloudwatch_log_retention"
US, EU = "us-east-1", "eu-west-1"


def test_confirmed_subscriber_passes_and_pending_one_fails_per_region(run_scan: ScanFn) -> None:
    world = World()
    for region, confirm in ((US, True), (EU, False)):
        instance = worlds.instance(world, region)
        topic = worlds.topic(world, region, confirm=confirm)
        worlds.alarm(world, region, "web-cpu", dimension=("InstanceId", instance), actions=(topic,))
    run = run_scan([ALARMS], regions=[US, EU])
    us = only(run, ALARMS, region=US)
    assert us.status is Status.PASS and us.resource_id == ACCOUNT
    assert us.evidence["covered"] == {"AWS/EC2": ["web-cpu"]}
    assert us.evidence["topics"][0]["confirmed"][0]["protocol"] == "email"
    eu = only(run, ALARMS, region=EU)
    assert eu.status is Status.FAIL
    assert eu.evidence["uncovered"] == ["AWS/EC2"]
    [entry] = eu.evidence["alarms"]
    assert entry["arn"] == world.arn("cloudwatch", "alarm:web-cpu", EU)
    assert entry["sns_topics"] == [world.arn("sns", "ops-alerts", EU)]
    assert entry["reason"] == "its SNS topic has no confirmed subscription"
    assert eu.evidence["topics"][0]["pending"] == 1
    # Each topic's subscriptions were asked in the topic's own region.
    asked = {
        (c.region, c.params["TopicArn"]) for c in run.calls if c.action == "sns:ListSubscriptionsByTopic"
    }
    assert asked == {(r, world.arn("sns", "ops-alerts", r)) for r in (US, EU)}


def test_workload_namespace_without_alarm_is_named(run_scan: ScanFn) -> None:
    world = World()
    instance = worlds.instance(world, US)
    worlds.database(world, US, "orders-db")
    topic = worlds.topic(world, US, protocol="sqs")  # same-account SQS subscriptions need no confirmation
    worlds.alarm(world, US, "web-cpu", dimension=("InstanceId", instance), actions=(topic,))
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.FAIL
    assert f.evidence["workload_namespaces_present"] == ["AWS/EC2", "AWS/RDS"]
    assert f.evidence["covered"] == {"AWS/EC2": ["web-cpu"]} and f.evidence["uncovered"] == ["AWS/RDS"]
    assert "AWS/RDS" in f.message


def test_composite_alarm_notifying_covers_its_children(run_scan: ScanFn) -> None:
    world = World()
    instance = worlds.instance(world, US)
    topic = worlds.topic(world, US)
    worlds.alarm(world, US, "web-cpu", dimension=("InstanceId", instance))  # no action of its own
    worlds.composite_alarm(world, US, "web-health", ("web-cpu",), (topic,))
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.PASS
    [entry] = f.evidence["alarms"]
    assert entry["composite_parents"] == ["web-health"] and entry["sns_topics"] == []


def test_disabled_actions_and_billing_alarms_do_not_count(run_scan: ScanFn) -> None:
    world = World()
    instance = worlds.instance(world, US)
    topic = worlds.topic(world, US)
    worlds.alarm(world, US, "web-cpu", dimension=("InstanceId", instance), actions=(topic,), enabled=False)
    worlds.alarm(world, US, "bill", namespace="AWS/Billing", metric="EstimatedCharges", actions=(topic,))
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.FAIL
    assert [(a["alarm"], a["reason"]) for a in f.evidence["alarms"]] == [("web-cpu", "actions are disabled")]


def test_no_workload_and_only_billing_alarm_is_not_applicable(run_scan: ScanFn) -> None:
    world = World()
    worlds.alarm(world, EU, "bill", namespace="AWS/Billing", metric="EstimatedCharges")
    f = only(run_scan([ALARMS], regions=[EU]), ALARMS)
    assert f.status is Status.NOT_APPLICABLE and f.region == EU
    assert f.evidence["other_alarms"] == ["bill"]


def test_denied_describe_alarms_is_error(run_scan: ScanFn) -> None:
    worlds.instance(World(), US)
    faults.deny("cloudwatch:DescribeAlarms")
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.ERROR
    assert (
        f.evidence["action"] == "cloudwatch:DescribeAlarms"
        and f.evidence["error_code"] == "AccessDeniedException"
    )


def test_denied_subscriptions_of_the_only_topic_is_error(run_scan: ScanFn) -> None:
    world = World()
    instance = worlds.instance(world, US)
    topic = worlds.topic(world, US)
    worlds.alarm(world, US, "web-cpu", dimension=("InstanceId", instance), actions=(topic,))
    faults.deny("sns:ListSubscriptionsByTopic")
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "sns:ListSubscriptionsByTopic"
    # AWS answers AuthorizationError; the fault injector renders the query protocol's AccessDenied.
    assert f.evidence["outcome"] == "denied"
    assert f.evidence["error_code"] in {"AuthorizationError", "AccessDenied"}


def test_log_groups_one_finding_each_per_region(run_scan: ScanFn) -> None:
    world = World()
    kept = worlds.log_group(world, US, "/app/orders", retention_days=30)
    forever = worlds.log_group(world, US, "/aws/lambda/checkout")
    run = run_scan([LOGS], regions=[US, EU])
    ok = only(run, LOGS, resource_id=kept)
    assert ok.status is Status.PASS and ok.region == US and ok.evidence["retention_in_days"] == 30
    assert kept == f"arn:aws:logs:{US}:{ACCOUNT}:log-group:/app/orders"
    bad = only(run, LOGS, resource_id=forever)
    assert bad.status is Status.FAIL and bad.evidence["retention_in_days"] is None
    assert bad.evidence["kind"] == "application" and "never expires" in bad.message
    eu = only(run, LOGS, region=EU)
    assert eu.status is Status.NOT_APPLICABLE and eu.resource_id == ACCOUNT


def test_workload_with_only_infrastructure_logs_fails_for_the_region(run_scan: ScanFn) -> None:
    world = World()
    worlds.instance(world, EU)
    trail_logs = worlds.log_group(world, EU, "aws-cloudtrail-logs-123456789012-abc", retention_days=365)
    run = run_scan([LOGS], regions=[EU])
    trail = only(run, LOGS, resource_id=trail_logs)
    assert trail.status is Status.PASS and trail.evidence["kind"] == "infrastructure"
    region = only(run, LOGS, resource_id=ACCOUNT)
    assert region.status is Status.FAIL and region.region == EU
    assert region.evidence["workload_namespaces_present"] == ["AWS/EC2"]
    assert "no application log group" in region.message


def test_denied_describe_log_groups_is_error(run_scan: ScanFn) -> None:
    worlds.log_group(World(), US, "/app/orders", retention_days=30)
    faults.deny("logs:DescribeLogGroups")
    f = only(run_scan([LOGS]), LOGS)
    assert f.status is Status.ERROR
    assert (
        f.evidence["action"] == "logs:DescribeLogGroups"
        and f.evidence["error_code"] == "AccessDeniedException"
    )
