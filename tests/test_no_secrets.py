"""Secrets the scan role can read never reach a scan document, a report or the log.

lambda:ListFunctions answers with each function's environment variables (often holding
secrets), and the scan role needs it for the alarm and infrastructure-as-code inventories;
AssumeRole's answer holds the session's secret key. None of it may leave the process.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.world import World
from fixtures.worlds import cloudwatch as cloudwatch_worlds
from scanner.cli import main

SECRET = "hunter2-prod-db-password-7f3c9a"
EXTERNAL_ID = "ext-id-not-for-reports-0123"


def test_lambda_environment_and_credentials_stay_out_of_documents_reports_and_logs(
    aws: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = World()
    arn = cloudwatch_worlds.function(world, "us-east-1", "orders-api")
    world.client("lambda", "us-east-1").update_function_configuration(
        FunctionName=arn, Environment={"Variables": {"DB_PASSWORD": SECRET}}
    )
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "evidence"
    result = CliRunner().invoke(
        main,
        [
            "-vv",
            "scan",
            "--role-arn",
            "arn:aws:iam::123456789012:role/GovscanReadOnly",
            "--external-id",
            EXTERNAL_ID,
            "--checks",
            "cloudwatch_alarms_actionable,cloudformation_stacks_present,autoscaling_scaling_policies",
            "--json",
            str(tmp_path / "scan.json"),
            "--out",
            str(out),
            "--format",
            "all",
            "--no-store",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    written = [tmp_path / "scan.json", *out.iterdir()]
    assert {p.suffix for p in written} >= {".json", ".html", ".md", ".csv", ".xlsx"}
    assert "orders-api" in (tmp_path / "scan.json").read_text(), "the function was inventoried"
    for path in written:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as workbook:
                text = "".join(workbook.read(name).decode("utf-8", "replace") for name in workbook.namelist())
        else:
            text = path.read_text(encoding="utf-8")
        for secret in (SECRET, EXTERNAL_ID, "SecretAccessKey", "SessionToken"):
            assert secret not in text, f"{secret} reached {path.name}"
    logged = caplog.text + result.output
    for secret in (SECRET, EXTERNAL_ID, "SecretAccessKey", "SessionToken"):
        assert secret not in logged, f"{secret} reached the log"
