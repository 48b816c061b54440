"""`o365-pipeline webhook serve` as a process over real HTTPS: the validation POST answered, a
wrong or missing authId refused in one log line without the secret, a notification on disk once
answered 200 (the process killed with SIGKILL right after, then restarted), duplicates recorded
once; and, in real-tenant mode, a standalone emulator process validating and notifying the
receiver that `webhook subscribe` registered."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from o365_emulator.tls import make_server_context
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline.storage.notification_log import NotificationLog

AUTH_ID = "cli-test-auth-id-0123456789abcdef"
TENANT_ID = "3f6a9c1d-2b4e-4d8f-a1c3-5e7b9d0f2a46"
APP_ID = "5b1f0c2e-8d4a-4e6b-9f3c-2a7d1e0b4c58"
APP_SECRET = "vendor-shared-app-secret-for-push-0123"
STARTUP_SECONDS = 60  # a Python process importing the CLI on a loaded 2-core machine
DELIVERY_SECONDS = 90


def _shell(**variables: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith("O365_") and k != "DAGSTER_HOME"
    }
    return keep | variables


def _receiver_environment(tls_dir: Path, data_dir: Path, **more: str) -> dict[str, str]:
    return _shell(
        O365_DATA_DIR=str(data_dir),
        O365_WEBHOOK_AUTH_ID=AUTH_ID,
        O365_WEBHOOK_LISTEN_PORT="0",
        O365_WEBHOOK_CERT_FILE=str(tls_dir / "server-chain.pem"),
        O365_WEBHOOK_KEY_FILE=str(tls_dir / "server-key.pem"),
        **more,
    )


def _serve(environment: dict[str, str], folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "o365_pipeline.cli", "webhook", "serve"],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    banner = process.stdout.readline()  # printed once listening (bounded by the process)
    assert banner.startswith("webhook receiver on https://"), banner + process.stderr.read()
    return process, banner.split()[3].rstrip(",")


@pytest.fixture
def tls_dir(tmp_path) -> Path:
    make_server_context(tmp_path / "tls")  # a CA and a leaf for 127.0.0.1 that it signs
    return tmp_path / "tls"


def _post(url: str, tls_dir: Path, body, auth_id: str | None = AUTH_ID) -> int:
    headers = {"Webhook-AuthID": auth_id} if auth_id is not None else {}
    return requests.post(
        f"{url}/o365", json=body, headers=headers, verify=str(tls_dir / "ca.pem"), timeout=30
    ).status_code


def _notification(content_id: str) -> list[dict]:
    created = datetime.now(UTC) - timedelta(hours=2)
    return [
        {
            "tenantId": TENANT_ID,
            "clientId": APP_ID,
            "contentType": "Audit.Exchange",
            "contentId": content_id,
            "contentUri": f"https://manage.office.com/api/v1.0/{TENANT_ID}/activity/feed/audit/{content_id}",
            "contentCreated": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "contentExpiration": (created + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
    ]


def test_serve_without_its_settings_fails_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "o365_pipeline.cli", "webhook", "serve"],
        cwd=tmp_path,
        env=_shell(O365_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "O365_WEBHOOK_CERT_FILE" in result.stderr


def test_validation_is_answered_and_a_wrong_auth_id_refused_without_leaking_it(tmp_path, tls_dir):
    process, url = _serve(_receiver_environment(tls_dir, tmp_path / "data"), tmp_path)
    try:
        assert _post(url, tls_dir, {"validationCode": "opaque"}) == 200
        assert _post(url, tls_dir, _notification("a1"), auth_id="wrong-guess-0123456789") == 401
        assert _post(url, tls_dir, _notification("a1"), auth_id=None) == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=STARTUP_SECONDS)
    refusals = [line for line in stderr.splitlines() if "401" in line]
    assert len(refusals) == 2
    assert AUTH_ID not in stderr and "wrong-guess" not in stderr
    assert NotificationLog.in_data_dir(tmp_path / "data").count() == 0


def test_an_answered_notification_survives_a_kill_and_a_duplicate_is_recorded_once(
    tmp_path, tls_dir
):
    environment = _receiver_environment(tls_dir, tmp_path / "data")
    process, url = _serve(environment, tmp_path)
    try:
        assert _post(url, tls_dir, _notification("a1")) == 200
    finally:
        process.kill()  # SIGKILL: no shutdown, no flush after the answer
        process.communicate(timeout=STARTUP_SECONDS)
    process, url = _serve(environment, tmp_path)
    try:
        assert _post(url, tls_dir, _notification("a1") + _notification("a2")) == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=STARTUP_SECONDS)
    rows = NotificationLog.in_data_dir(tmp_path / "data").after(0)
    assert [row.notification.blob.content_id for row in rows] == ["a1", "a2"]


def test_a_standalone_emulator_notifies_the_receiver_webhook_subscribe_registered(tmp_path):
    """Real-tenant mode: the shared app's settings, a standalone emulator process."""
    state = tmp_path / "emulator"
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "o365_emulator",
            *("--port", "0", "--tenant", TENANT_ID, "--client-id", APP_ID),
            *("--client-secret", APP_SECRET, "--records-per-hour", "6"),
            *("--state-dir", str(state), "--notification-retry", "0.2", "60"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_shell(),
    )
    receiver = None
    try:
        banner = emulator.stdout.readline()
        assert " on https://" in banner, banner
        base_url, ca = banner.strip().rsplit(" on ", 1)[1], state / "tls" / "ca.pem"
        data_dir = tmp_path / "data"
        environment = _receiver_environment(
            state / "tls",
            data_dir,
            O365_CLIENT_ID=APP_ID,
            O365_CLIENT_SECRET=APP_SECRET,
            O365_API_BASE_URL=base_url,
            O365_LOGIN_BASE_URL=base_url,
            O365_CA_BUNDLE=str(ca),
        )
        receiver, url = _serve(environment, tmp_path)
        environment["O365_WEBHOOK_ADDRESS"] = f"{url}/o365/notifications"
        added = _cli(tmp_path, environment, "tenants", "add", "acme", TENANT_ID)
        assert added.returncode == 0, added.stderr
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        _set_emulator_clock(base_url, ca, hour)
        subscribed = _cli(tmp_path, environment, "webhook", "subscribe", "acme")
        assert subscribed.returncode == 0, subscribed.stderr
        assert subscribed.stdout.count("started with the webhook") == 5
        _set_emulator_clock(base_url, ca, None)  # an hour of blobs becomes available
        wanted = _listed(base_url, ca, hour)
        log = NotificationLog.in_data_dir(data_dir)
        deadline = time.monotonic() + DELIVERY_SECONDS
        while {row.notification.blob.content_id for row in log.after(0)} < wanted:
            assert time.monotonic() < deadline, "the emulator never notified every blob"
            time.sleep(0.1)
        rows = log.after(0)
        assert {row.notification.tenant_id for row in rows} == {TENANT_ID}
        assert {row.notification.client_id for row in rows} == {APP_ID}
        assert all(row.notification.blob.content_uri.startswith(base_url) for row in rows)
    finally:
        if receiver is not None:
            receiver.send_signal(signal.SIGTERM)
            _, receiver_log = receiver.communicate(timeout=STARTUP_SECONDS)
            assert APP_SECRET not in receiver_log and AUTH_ID not in receiver_log
        emulator.terminate()
        emulator.communicate(timeout=STARTUP_SECONDS)


def _cli(folder: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "o365_pipeline.cli", *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _set_emulator_clock(base_url: str, ca: Path, reads: datetime | None) -> None:
    offset = 0.0 if reads is None else (reads - datetime.now(UTC)).total_seconds()
    answer = requests.post(
        f"{base_url}/_emulator/clock",
        data=json.dumps({"offset_seconds": offset}),
        verify=str(ca),
        timeout=30,
    )
    answer.raise_for_status()


def _listed(base_url: str, ca: Path, hour: datetime) -> set[str]:
    """Content ids listed now with contentCreated after `hour` (+5 s), over all types."""
    client = ManagementApiClient(
        ClientSettings(
            tenant_id=TENANT_ID,
            client_id=APP_ID,
            credential=ClientSecret(APP_SECRET),
            api_base_url=base_url,
            login_base_url=base_url,
            ca_bundle=str(ca),
        )
    )
    now = datetime.now(UTC)
    try:
        return {
            blob.content_id
            for kind in ("Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint")
            + ("Audit.General", "DLP.All")
            for blob in client.list_content(kind, hour, now)
            if blob.content_created > hour + timedelta(seconds=5)
        }
    finally:
        client.close()
