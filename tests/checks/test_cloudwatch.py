"""cloudwatch_alarms_actionable and cloudwatch_log_retention through the real runner."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import autoscaling as asg
from fixtures.worlds import cloudwatch as worlds
from fixtures.worlds import dynamodb, elb, rds
from scanner.models import Status
from tests.conftest import ACCOUNT, ScanFn, only

ALARMS = "cloudwatch_alarms_actionable"
LOGS = "cloudwatch_log_retention"
US, EU = "us-east-1", "eu-west-1"


def test_confirmed_subscriber_passes_and_pending_one_fails_per_region(run_scan: ScanFn) -> None:
    world = World()
    instances = {}
    for region, confirm in ((US, True), (EU, False)):
        instances[region] = worlds.instance(world, region)
        topic = worlds.topic(world, region, confirm=confirm)
        worlds.alarm(world, region, "web-cpu", dimension=("InstanceId", instances[region]), actions=(topic,))
    run = run_scan([ALARMS], regions=[US, EU])
    us = only(run, ALARMS, region=US)
    assert us.status is Status.PASS and us.resource_id == ACCOUNT
    assert us.evidence["covered"] == {f"EC2 instance {instances[US]}": ["web-cpu"]}
    assert us.message == (
        f"An alarm notifying a confirmed subscriber watches each of the 1 workload resource(s) in {US}."
    )
    assert us.evidence["topics"][0]["confirmed"][0]["protocol"] == "email"
    eu = only(run, ALARMS, region=EU)
    assert eu.status is Status.FAIL
    assert eu.evidence["uncovered"] == [{
        "resource": f"EC2 instance {instances[EU]}",
        "resource_type": "AWS::EC2::Instance",
        "resource_id": world.arn("ec2", f"instance/{instances[EU]}", EU),
        "watched_by_dimensions": [f"InstanceId={instances[EU]}"],
        "alarms": ["web-cpu: its SNS topic has no confirmed subscription"],
    }]
    [entry] = eu.evidence["alarms"]
    assert entry["arn"] == world.arn("cloudwatch", "alarm:web-cpu", EU)
    assert entry["sns_topics"] == [world.arn("sns", "ops-alerts", EU)]
    assert entry["dimensions"] == [f"InstanceId={instances[EU]}"]
    assert entry["reason"] == "its SNS topic has no confirmed subscription"
    assert eu.evidence["topics"][0]["pending"] == 1
    # Each topic's subscriptions were asked in the topic's own region.
    asked = {
        (c.region, c.params["TopicArn"]) for c in run.calls if c.action == "sns:ListSubscriptionsByTopic"
    }
    assert asked == {(r, world.arn("sns", "ops-alerts", r)) for r in (US, EU)}


def test_an_alarm_on_one_instance_does_not_cover_the_others(run_scan: ScanFn) -> None:
    world = World()
    watched = worlds.instance(world, US)
    unwatched = worlds.instance(world, US)
    asg.group(world, "web", region=US, policy=None)  # one running instance, watched through its group
    [member] = [i["InstanceId"] for i in world.client("autoscaling", US).describe_auto_scaling_groups()[
        "AutoScalingGroups"][0]["Instances"]]
    topic = worlds.topic(world, US, protocol="sqs")  # same-account SQS subscriptions need no confirmation
    worlds.alarm(world, US, "one-cpu", dimension=("InstanceId", watched), actions=(topic,))
    worlds.alarm(world, US, "web-cpu", dimension=("AutoScalingGroupName", "web"), actions=(topic,))
    worlds.alarm(world, US, "fleet-cpu", actions=(topic,))  # the namespace-wide aggregate names no instance
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.FAIL
    assert f.evidence["covered"] == {
        f"EC2 instance {watched}": ["one-cpu"],
        f"EC2 instance {member} (Auto Scaling group web)": ["web-cpu"],
    }
    assert [u["resource"] for u in f.evidence["uncovered"]] == [f"EC2 instance {unwatched}"]
    assert f.evidence["uncovered"][0]["alarms"] == []
    assert f.evidence["resources_total"] == 3 and f.evidence["uncovered_total"] == 1
    assert f.message == (
        f"No alarm notifying a confirmed subscriber watches 1 of 3 workload resource(s) in {US}: "
        f"EC2 instance {unwatched}."
    )


def test_each_kind_of_resource_is_matched_by_its_own_dimension(run_scan: ScanFn) -> None:
    world = World()
    worlds.database(world, US, "orders-db")
    cluster, _ = rds.aurora_cluster(world, "ledger", region=US, member_azs=("a",))
    alb, _ = elb.alb(world, "shop", region=US)
    elb.classic(world, "legacy", region=US)
    function = worlds.function(world, US, "checkout")
    dynamodb.table(world, "events", region=US)
    topic = worlds.topic(world, US, protocol="sqs")
    lb_dimension = alb.split(":loadbalancer/", 1)[1]
    worlds.alarm(world, US, "orders-cpu", namespace="AWS/RDS", dimension=("DBInstanceIdentifier", "orders-db"),
                 actions=(topic,))
    worlds.alarm(world, US, "ledger-writer-cpu", namespace="AWS/RDS", dimension=("DBInstanceIdentifier", "ledger-1"),
                 actions=(topic,))
    worlds.alarm(world, US, "shop-5xx", namespace="AWS/ApplicationELB", metric="HTTPCode_Target_5XX_Count",
                 dimensions=(("TargetGroup", "targetgroup/shop-tg/0123"), ("LoadBalancer", lb_dimension)),
                 actions=(topic,))
    worlds.math_alarm(world, US, "checkout-failures", (
        ("AWS/Lambda", "Errors", (("FunctionName", "checkout"),)),
        ("AWS/Lambda", "Throttles", (("FunctionName", "checkout"),)),
    ), actions=(topic,))
    run = run_scan([ALARMS])
    f = only(run, ALARMS)
    assert f.status is Status.FAIL
    assert f.evidence["covered"] == {
        "RDS DB cluster ledger": ["ledger-writer-cpu"],  # through its member instance
        "RDS DB instance orders-db": ["orders-cpu"],
        "Application load balancer shop": ["shop-5xx"],
        "Lambda function checkout": ["checkout-failures"],  # through the math expression's metric queries
    }
    uncovered = {u["resource"]: (u["resource_id"], u["watched_by_dimensions"]) for u in f.evidence["uncovered"]}
    assert uncovered == {
        "Classic load balancer legacy": (world.arn("elasticloadbalancing", "loadbalancer/legacy", US),
                                         ["LoadBalancerName=legacy"]),
        "DynamoDB table events": (world.arn("dynamodb", "table/events", US), ["TableName=events"]),
    }
    assert function == world.arn("lambda", "function:checkout", US)
    assert cluster == world.arn("rds", "cluster:ledger", US)
    assert "Classic load balancer legacy, DynamoDB table events." in f.message
    # The listings are the unfiltered ones the other modules' checks make (one cached call each).
    listed = {c.action: c.params for c in run.calls if c.action != "sns:ListSubscriptionsByTopic"}
    assert listed["rds:DescribeDBInstances"] == {} and listed["elbv2:DescribeLoadBalancers"] == {}
    assert listed["lambda:ListFunctions"] == {} and listed["dynamodb:ListTables"] == {}


def test_namespaces_without_a_listing_are_judged_as_a_whole(run_scan: ScanFn) -> None:
    world = World()
    worlds.queue(world, US, "orders")
    topic = worlds.topic(world, US, protocol="sqs")
    run = run_scan([ALARMS])
    f = only(run, ALARMS)
    assert f.status is Status.FAIL and f.evidence["resources_total"] == 0
    assert f.evidence["namespaces_judged_as_a_whole"] == ["AWS/SQS"]
    assert f.evidence["namespaces_uncovered"] == ["AWS/SQS"]
    assert f.message == "No alarm notifying a confirmed subscriber watches any metric of AWS/SQS."
    worlds.alarm(world, US, "orders-backlog", namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible",
                 dimension=("QueueName", "orders"), actions=(topic,))
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.PASS and f.evidence["namespaces_covered"] == {"AWS/SQS": ["orders-backlog"]}


def test_workload_namespaces_setting_chooses_the_kinds_listed(run_scan: ScanFn) -> None:
    world = World()
    instance = worlds.instance(world, US)
    worlds.database(world, US, "orders-db")  # RDS is left out of the setting: neither listed nor judged
    topic = worlds.topic(world, US)
    worlds.alarm(world, US, "web-cpu", dimension=("InstanceId", instance), actions=(topic,))
    run = run_scan([ALARMS], settings={"workload_namespaces": "AWS/EC2, AWS/SQS"})
    f = only(run, ALARMS)
    assert f.status is Status.PASS and f.evidence["covered"] == {f"EC2 instance {instance}": ["web-cpu"]}
    assert not [c for c in run.calls if c.action.startswith("rds:")]


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


def test_no_workload_is_not_applicable_whatever_alarms_remain(run_scan: ScanFn) -> None:
    world = World()
    worlds.alarm(world, EU, "bill", namespace="AWS/Billing", metric="EstimatedCharges")
    worlds.alarm(world, EU, "gone-cpu", dimension=("InstanceId", "i-0123456789abcdef0"))  # a terminated server's
    f = only(run_scan([ALARMS], regions=[EU]), ALARMS)
    assert f.status is Status.NOT_APPLICABLE and f.region == EU
    assert f.evidence["other_alarms"] == ["bill", "gone-cpu"] and f.evidence["resources_total"] == 0


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


def test_denied_subscriptions_beside_a_certainly_uncovered_resource_is_fail(run_scan: ScanFn) -> None:
    world = World()
    watched = worlds.instance(world, US)
    unwatched = worlds.instance(world, US)
    topic = worlds.topic(world, US)
    worlds.alarm(world, US, "web-cpu", dimension=("InstanceId", watched), actions=(topic,))
    faults.deny("sns:ListSubscriptionsByTopic")
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.FAIL
    assert [u["resource"] for u in f.evidence["uncovered"]] == [f"EC2 instance {unwatched}"]
    assert [u["resource"] for u in f.evidence["undetermined"]] == [f"EC2 instance {watched}"]
    assert f.evidence["errors"][0]["action"] == "sns:ListSubscriptionsByTopic"
    assert "Coverage of 1 more could not be determined: sns:ListSubscriptionsByTopic failed" in f.message


def test_denied_resource_listing_is_error_naming_it(run_scan: ScanFn) -> None:
    worlds.instance(World(), US)
    faults.deny("lambda:ListFunctions")
    f = only(run_scan([ALARMS]), ALARMS)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "lambda:ListFunctions" and f.evidence["outcome"] == "denied"


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
