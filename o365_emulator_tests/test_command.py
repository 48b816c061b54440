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
