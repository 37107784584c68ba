"""wellarchitected_no_high_risks through the real runner (Well-Architected served by moto_ext)."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import wellarchitected as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, ScanFn, only

WAFR = "wellarchitected_no_high_risks"
US, EU = "us-east-1", "eu-west-1"


def test_clean_review_in_one_region_passes_and_says_the_evidence_is_waived(run_scan: ScanFn) -> None:
    world = World()
    risky, risky_arn = worlds.workload(world, US, "legacy")
    worlds.answer_all(world, US, risky, high_in=("security",))
    clean, clean_arn = worlds.workload(world, EU, "shop")
    worlds.answer_all(world, EU, clean, high_in=("costOptimization",))  # other pillars do not matter
    f = only(run_scan([WAFR], regions=[US, EU]), WAFR)
    assert f.status is Status.PASS and f.region == "global" and f.resource_id == ACCOUNT
    assert f.evidence["qualifying"] == [clean_arn]
    assert clean_arn.startswith(f"arn:aws:wellarchitected:{EU}:{ACCOUNT}:workload/")
    assert "waives the common customer example evidence" in f.message and clean_arn in f.message
    by_arn = {w["arn"]: w for w in f.evidence["workloads"]}
    assert by_arn[risky_arn]["region"] == US and by_arn[risky_arn]["high_risks"] == 1
    assert by_arn[risky_arn]["pillar_risks"]["Security"]["HIGH"] == 1
    assert by_arn[clean_arn]["pillar_risks"]["Reliability"] == {
        "UNANSWERED": 0,
        "HIGH": 0,
        "MEDIUM": 0,
        "NONE": 2,
        "NOT_APPLICABLE": 0,
    }


def test_high_risk_in_reliability_fails_naming_the_workload(run_scan: ScanFn) -> None:
    world = World()
    workload_id, arn = worlds.workload(world, US, "shop")
    worlds.answer_all(world, US, workload_id, high_in=("reliability",))
    f = only(run_scan([WAFR]), WAFR)
    assert f.status is Status.FAIL
    assert "shop: 1 high risk(s)" in f.message
    [entry] = f.evidence["workloads"]
    assert entry["arn"] == arn and entry["pillar_risks"]["Reliability"]["HIGH"] == 1 and not entry["qualifies"]


def test_unanswered_pillar_is_not_a_completed_review(run_scan: ScanFn) -> None:
    world = World()
    workload_id, _ = worlds.workload(world, US, "shop")
    worlds.answer_all(world, US, workload_id, skip=("operationalExcellence",))
    f = only(run_scan([WAFR]), WAFR)
    assert f.status is Status.FAIL and "2 unanswered question(s)" in f.message


def test_no_review_fails_as_info_saying_the_waiver_is_unavailable(run_scan: ScanFn) -> None:
    worlds.workload(World(), EU, "serverless-only", lenses=("serverless",))
    f = only(run_scan([WAFR], regions=[US, EU]), WAFR)
    assert f.status is Status.FAIL and f.severity.value == "info"
    assert "the WAFR waiver is not available" in f.message
    assert "the common customer example evidence must be provided" in f.message
    assert [w["framework_lens"] for w in f.evidence["workloads"]] == [False]


def test_denied_list_workloads_is_error(run_scan: ScanFn) -> None:
    faults.deny("wellarchitected:ListWorkloads")
    f = only(run_scan([WAFR]), WAFR)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "wellarchitected:ListWorkloads"
    assert f.evidence["error_code"] == "AccessDeniedException"


def test_denied_lens_review_is_error_unless_another_workload_qualifies(run_scan: ScanFn) -> None:
    world = World()
    workload_id, _ = worlds.workload(world, US, "shop")
    worlds.answer_all(world, US, workload_id)
    faults.deny("wellarchitected:GetLensReview", region=US)
    f = only(run_scan([WAFR]), WAFR)
    assert f.status is Status.ERROR and f.evidence["action"] == "wellarchitected:GetLensReview"
    faults.clear()
    other_id, other_arn = worlds.workload(world, EU, "api")
    worlds.answer_all(world, EU, other_id)
    faults.deny("wellarchitected:GetLensReview", region=US)
    f = only(run_scan([WAFR], regions=[US, EU]), WAFR)
    assert f.status is Status.PASS and f.evidence["qualifying"] == [other_arn]
    assert [w["error"]["error_code"] for w in f.evidence["workloads"] if "error" in w] == ["AccessDeniedException"]


def test_workload_listing_pages_are_all_read(run_scan: ScanFn) -> None:
    world = World()
    for index in range(50):  # the Tool returns at most 50 workloads per page
        worlds.workload(world, US, f"app-{index:02d}", lenses=("serverless",))
    clean_id, clean_arn = worlds.workload(world, US, "zz-shop")
    worlds.answer_all(world, US, clean_id)
    run = run_scan([WAFR])
    f = only(run, WAFR)
    assert f.status is Status.PASS and f.evidence["qualifying"] == [clean_arn]
    assert len(f.evidence["workloads"]) == 51
    listings = [c for c in run.calls if c.action == "wellarchitected:ListWorkloads"]
    assert len(listings) == 2 and "NextToken" in listings[1].params
