import subprocess
import sys
import time

import requests

from o365_pipeline_tests.fixtures import TENANT_ID


def test_emulator_command_serves_https_and_writes_its_ca(tmp_path):
    ca = tmp_path / "ca.pem"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "o365_emulator",
            "--port",
            "0",
            "--tenant",
            TENANT_ID,
            "--ca-out",
            str(ca),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert "emulator on https://127.0.0.1:" in banner, banner
        base_url = banner.strip().split(" on ")[1]
        deadline = time.monotonic() + 10
        while not ca.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        response = requests.get(
            f"{base_url}/{TENANT_ID}/v2.0/.well-known/openid-configuration",
            verify=str(ca),
            timeout=10,
        )
        assert response.json()["token_endpoint"] == f"{base_url}/{TENANT_ID}/oauth2/v2.0/token"
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert process.returncode == 0, output


def test_tenants_n_serves_that_many_numbered_tenants_and_no_more(tmp_path):
    from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from o365_emulator.samples import numbered_tenant_id

    ca = tmp_path / "ca.pem"
    process = subprocess.Popen(
        [sys.executable, "-m", "o365_emulator", "--port", "0", "--tenants", "3"]
        + ["--ca-out", str(ca)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip().split(" on ")[1]
        deadline = time.monotonic() + 10
        while not ca.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

        def token(number: int) -> requests.Response:
            return requests.post(
                f"{base_url}/{numbered_tenant_id(number)}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": DEFAULT_CLIENT_ID,
                    "client_secret": DEFAULT_CLIENT_SECRET,
                    "scope": "https://manage.office.com/.default",
                },
                verify=str(ca),
                timeout=10,
            )

        served, unknown = token(3), token(4)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert served.status_code == 200 and served.json()["access_token"], served.text
    assert unknown.status_code == 400, unknown.text
    assert process.returncode == 0, output
