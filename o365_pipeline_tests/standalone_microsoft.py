"""A standalone emulator process reached the way a real deployment reaches Microsoft: the
vendor's shared multi-tenant app (secret or certificate), base URLs and a CA bundle, and the
CLI run as a separate process in a shell holding only those settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from o365_emulator.certificates import make_self_signed_certificate
from o365_pipeline_tests.ground_truth import ground_truth_ids

APP_ID = "5b1f0c2e-8d4a-4e6b-9f3c-2a7d1e0b4c58"
APP_SECRET = "vendor-shared-app-secret-0123456789abcdef"
CUSTOMER = "3f6a9c1d-2b4e-4d8f-a1c3-5e7b9d0f2a46"
SECOND_CUSTOMER = "8c2e4a6b-1d3f-4a5c-b7e9-0f1a2b3c4d5e"
# A customer whose administrator has not consented yet: its tokens carry no roles until Accept.
UNCONSENTED = "2d4f6a8c-0e1b-4c3d-9e5f-7a9b1c3d5e7f"
VENDOR_REDIRECT = "https://connector.example.com/o365/consent"
STARTUP_SECONDS = 60  # a Python process importing cryptography on a loaded 2-core machine
COMMAND_SECONDS = 600  # one CLI command, backfills included
LANDED = re.compile(r"^\s+(\d{4}-\d{2}-\d{2} \d{2}):00 UTC\s+ok$", re.MULTILINE)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """The shared app's certificate: the key stays with the client, the public part with Entra."""
    folder = tmp_path_factory.mktemp("certificate")
    key_pem, certificate_pem, thumbprint = make_self_signed_certificate("o365-pipeline tests")
    (folder / "app-key.pem").write_text(key_pem)
    (folder / "app-cert.pem").write_text(certificate_pem)
    return folder / "app-key.pem", folder / "app-cert.pem", thumbprint


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory, certificate):
    """A standalone emulator process, reached only through its URL and CA file."""
    folder = tmp_path_factory.mktemp("standalone-emulator")
    ca = folder / "ca.pem"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "o365_emulator",
            "--port",
            "0",
            "--tenant",
            CUSTOMER,
            "--tenant",
            SECOND_CUSTOMER,
            "--tenant",
            UNCONSENTED,
            "--consent-required",
            UNCONSENTED,
            "--redirect-uri",
            VENDOR_REDIRECT,
            "--client-id",
            APP_ID,
            "--client-secret",
            APP_SECRET,
            "--client-certificate",
            str(certificate[1]),
            "--records-per-hour",
            "6",
            "--ca-out",
            str(ca),
            "--state-dir",
            str(folder / "state"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=shell(),
    )
    try:
        banner = process.stdout.readline()
        assert " on https://" in banner, banner
        base_url = banner.strip().rsplit(" on ", 1)[1]
        deadline = time.monotonic() + STARTUP_SECONDS
        while not ca.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ca.exists(), "the emulator wrote no CA file"
        yield base_url, ca
    finally:
        process.terminate()
        process.communicate(timeout=STARTUP_SECONDS)


def shell(**variables: str) -> dict[str, str]:
    """A deployment's shell: none of the developer's `O365_*` or Dagster settings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name != "DAGSTER_HOME"
    }
    return environment | variables


def real_deployment(microsoft, data_dir: Path, **overrides: str) -> dict[str, str]:
    base_url, ca = microsoft
    settings = {
        "O365_CLIENT_ID": APP_ID,
        "O365_CLIENT_SECRET": APP_SECRET,
        "O365_API_BASE_URL": base_url,
        "O365_LOGIN_BASE_URL": base_url,
        "O365_GRAPH_BASE_URL": base_url,
        "O365_CA_BUNDLE": str(ca),
        "O365_DATA_DIR": str(data_dir),
    }
    settings.update(overrides)
    return shell(**{name: value for name, value in settings.items() if value})


def run_cli(folder: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "o365_pipeline.cli", *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )


def ground_truth(microsoft, tenant_id: str, windows: list[datetime]) -> set[str]:
    base_url, ca = microsoft
    return ground_truth_ids(base_url, ca, tenant_id, windows, timeout=COMMAND_SECONDS)


def landed_ids(data_dir: Path, name: str) -> list[str]:
    files = [str(path) for path in data_dir.glob(f"audit/*/tenant={name}/*/*/part.parquet")]
    assert files, f"nothing landed for {name}"
    with duckdb.connect() as connection:
        rows = connection.execute(f"SELECT Id FROM read_parquet({files!r})").fetchall()
    return [row[0] for row in rows]


def landed_windows(backfill_output: str) -> list[datetime]:
    return [
        datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC)
        for hour in LANDED.findall(backfill_output)
    ]
