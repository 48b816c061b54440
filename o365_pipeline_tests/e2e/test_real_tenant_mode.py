"""Real-tenant mode, end to end: a standalone emulator process stands in for Microsoft, and the
project is configured exactly as a real deployment is (the vendor's shared multi-tenant app id
with its secret or certificate, `O365_API_BASE_URL`, `O365_LOGIN_BASE_URL`, `O365_CA_BUNDLE`).
A customer is onboarded through the CLI only (add → consent-url → doctor → backfill → list →
remove), what landed is checked against the emulator's ground truth, and a Dagster
materialization is launched the way users launch one. Bad configuration (no secret, a host that
does not answer) gets one line naming the variable or host, never a traceback.
"""

from __future__ import annotations

import html
import re
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import requests

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline_tests.onboarded import landed_window
from o365_pipeline_tests.standalone_microsoft import (
    APP_ID,
    APP_SECRET,
    COMMAND_SECONDS,
    CUSTOMER,
    SECOND_CUSTOMER,
    UNCONSENTED,
    VENDOR_REDIRECT,
    ground_truth,
    landed_ids,
    landed_windows,
    real_deployment,
    run_cli,
)


def _assert_no_secret_in(folder: Path, *texts: str) -> None:
    for text in texts:
        assert APP_SECRET not in text
    for path in folder.rglob("*"):
        if path.is_file():
            assert APP_SECRET.encode() not in path.read_bytes(), path


def test_a_customer_onboards_through_the_cli_with_the_shared_app_secret(tmp_path, microsoft):
    data_dir = tmp_path / "data"
    shell = real_deployment(microsoft, data_dir)
    outputs = []

    def cli(*args: str) -> subprocess.CompletedProcess:
        result = run_cli(tmp_path, shell, *args)
        outputs.extend([result.stdout, result.stderr])
        return result

    added = cli("tenants", "add", "acme", CUSTOMER.upper())
    assert added.returncode == 0, added.stderr
    consent = cli("consent-url", "acme")
    assert consent.returncode == 0, consent.stderr
    assert f"{microsoft[0]}/{CUSTOMER}/adminconsent?client_id={APP_ID}" in consent.stdout

    doctor = cli("doctor", "acme")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "verdict: ready" in doctor.stdout

    backfill = cli("backfill", "acme", "--hours", "2")
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "2 window(s) landed, 0 failed" in backfill.stdout
    windows = landed_windows(backfill.stdout)
    assert len(windows) == 2 and windows[1] - windows[0] == timedelta(hours=1)
    truth = ground_truth(microsoft, CUSTOMER, windows)
    ids = landed_ids(data_dir, "acme")
    assert truth and set(ids) == truth

    listed = cli("tenants", "list")
    assert listed.returncode == 0 and "acme" in listed.stdout and CUSTOMER in listed.stdout
    # Real mode serves the registered customers only: no demo tenant sneaks in.
    assert "contoso" not in listed.stdout

    # The way users launch a run outside the UI: Dagster's own CLI, on the deployment's instance,
    # with the secret reaching the run only through its EnvVar.
    materialized = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "o365_pipeline.definitions",
            "--select",
            "subscriptions",
        ],
        cwd=tmp_path,
        env=shell | {"DAGSTER_HOME": str(data_dir / "dagster_home")},
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    outputs += [materialized.stdout, materialized.stderr]
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    assert "RUN_SUCCESS" in materialized.stderr + materialized.stdout
    # Service health from Graph, on the Graph base URL of the same deployment settings.
    health = subprocess.run(
        [
            sys.executable, "-m", "dagster", "asset", "materialize", "-m",
            "o365_pipeline.definitions", "--select", "service_health", "--partition", "acme",
        ],
        cwd=tmp_path,
        env=shell | {"DAGSTER_HOME": str(data_dir / "dagster_home")},
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )  # fmt: skip
    outputs += [health.stdout, health.stderr]
    assert health.returncode == 0, health.stderr[-3000:]
    with duckdb.connect() as connection:
        (issues,) = connection.execute(
            f"SELECT count(*) FROM '{data_dir}/service_health/tenant=acme/issues.parquet'"
        ).fetchone()
    assert issues > 0

    removed = cli("tenants", "remove", "acme")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert removed.stdout.count("stopped ") == len(CONTENT_TYPES)
    after = cli("tenants", "list")
    assert "acme" not in after.stdout
    assert len(landed_ids(data_dir, "acme")) == len(ids)  # removing keeps the data
    _assert_no_secret_in(tmp_path, *outputs)


def test_the_shared_app_may_authenticate_with_a_certificate(tmp_path, microsoft, certificate):
    key_file, _, thumbprint = certificate
    data_dir = tmp_path / "data"
    shell = real_deployment(
        microsoft,
        data_dir,
        O365_CLIENT_SECRET="",
        O365_CLIENT_CERTIFICATE_FILE=str(key_file),
        O365_CLIENT_CERTIFICATE_THUMBPRINT=thumbprint,
    )
    assert "O365_CLIENT_SECRET" not in shell
    assert run_cli(tmp_path, shell, "tenants", "add", "globex", SECOND_CUSTOMER).returncode == 0
    doctor = run_cli(tmp_path, shell, "doctor", "globex")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    backfill = run_cli(tmp_path, shell, "backfill", "globex", "--hours", "1")
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    windows = landed_windows(backfill.stdout)
    assert len(windows) == 1
    assert set(landed_ids(data_dir, "globex")) == ground_truth(microsoft, SECOND_CUSTOMER, windows)


def _one_line_failure(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [("doctor", "acme"), ("backfill", "acme", "--hours", "1")])
def test_a_missing_secret_is_named_in_one_line(tmp_path, microsoft, command):
    registered = real_deployment(microsoft, tmp_path / "data")
    assert run_cli(tmp_path, registered, "tenants", "add", "acme", CUSTOMER).returncode == 0
    without_secret = real_deployment(microsoft, tmp_path / "data", O365_CLIENT_SECRET="")
    line = _one_line_failure(run_cli(tmp_path, without_secret, *command))
    assert "O365_CLIENT_SECRET" in line


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("variable", "command"),
    [
        ("O365_LOGIN_BASE_URL", ("doctor", "acme")),
        ("O365_API_BASE_URL", ("backfill", "acme", "--hours", "1")),
        ("O365_LOGIN_BASE_URL", ("tenants", "remove", "acme")),
    ],
)
def test_an_unreachable_host_is_named_in_one_line(tmp_path, microsoft, variable, command):
    registered = real_deployment(microsoft, tmp_path / "data")
    assert run_cli(tmp_path, registered, "tenants", "add", "acme", CUSTOMER).returncode == 0
    dead = f"https://127.0.0.1:{_closed_port()}"
    shell = real_deployment(microsoft, tmp_path / "data", **{variable: dead})
    line = _one_line_failure(run_cli(tmp_path, shell, *command))
    assert dead.removeprefix("https://") in line and variable in line


def test_a_customer_admin_consents_through_the_vendors_redirect(tmp_path, microsoft):
    """The connector flow on real settings: the admin-consent URL on the configured login host,
    the consent page answered, the vendor's redirect pasted back, then data lands."""
    base_url, ca = microsoft
    data_dir = tmp_path / "data"
    shell = real_deployment(microsoft, data_dir)
    asked = run_cli(
        tmp_path, shell, "onboard", "initech", UNCONSENTED, "--no-listen", "--redirect-uri",
        VENDOR_REDIRECT,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stdout + asked.stderr
    url = next(line for line in asked.stdout.splitlines() if "/v2.0/adminconsent?" in line)
    assert url.startswith(f"{base_url}/{UNCONSENTED}/v2.0/adminconsent?client_id={APP_ID}")
    refused = run_cli(tmp_path, shell, "doctor", "initech")
    assert refused.returncode != 0  # no consent yet: the token carries no role

    page = requests.get(url, verify=str(ca), timeout=COMMAND_SECONDS)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    fields = {name: html.unescape(value) for name, value in fields.items() if name != "decision"}
    accepted = requests.post(
        url.split("?", 1)[0], data={**fields, "decision": "accept"}, verify=str(ca),
        allow_redirects=False, timeout=COMMAND_SECONDS,
    )  # fmt: skip
    assert accepted.status_code == 302
    assert accepted.headers["Location"].startswith(VENDOR_REDIRECT)

    done = run_cli(
        tmp_path, shell, "consent-complete", "initech", accepted.headers["Location"],
        "--backfill-hours", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: ready" in done.stdout
    window = landed_window(done.stdout)
    ids = landed_ids(data_dir, "initech")
    assert set(ids) == ground_truth(microsoft, UNCONSENTED, [window]) and len(ids) == len(set(ids))
    _assert_no_secret_in(tmp_path, asked.stdout, done.stdout, done.stderr)
