"""`o365-pipeline onboard` end to end in a real headless Chromium, as a new user does it from an
empty folder against the local emulator: the command prints the consent URL, the browser opens
it and clicks Accept (then the doctor passes and the first hour lands, equal to the emulator's
ground truth) or Cancel (then one "consent was declined" line, a non-zero exit, and the tenant
kept as consent pending with no partitions and no schedule).

The driver is Playwright for Python with Debian's Chromium (`executable_path`): it needs only the
browser package (no chromedriver whose version must match it), its wheel carries its own driver
so nothing is downloaded when it runs (`playwright install` is never used), and its locators wait
by themselves, each wait bounded by the timeout given. Skipped, with the reason, where
/usr/bin/chromium or the playwright package is missing (.ci/run installs Chromium).
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from o365_emulator.embedded import START_TIMEOUT_SECONDS, stop_embedded_emulator
from o365_pipeline.config import load_settings
from o365_pipeline.defs.sensors import build_tenant_registry_sensor
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline.tenants.directory import directory_for
from o365_pipeline_tests.onboarded import assert_landed_equals_ground_truth, landed_window

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI") == "true"  # there they must run: .ci/run installs Chromium
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not IN_CI,
        reason="needs Debian's Chromium at /usr/bin/chromium "
        "(apt-get install -y --no-install-recommends chromium)",
    ),
]

ACME = "3c9d2e1f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
GLOBEX = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"
# Every wait derives from the emulator's own start bound (the slowest step on a loaded machine).
STEP_SECONDS = START_TIMEOUT_SECONDS  # one page, one command, one emulator (re)start
URL_SECONDS = 2 * STEP_SECONDS  # interpreter start + registration + emulator start
LISTEN_SECONDS = 4 * STEP_SECONDS  # what onboard waits for the browser, longer than the test
# After Accept: the emulator restarts (the tenant's consent changed), doctor, one-hour backfill.
FINISH_SECONDS = 6 * STEP_SECONDS


@pytest.fixture(scope="module")
def browser():
    if IN_CI and not CHROMIUM.exists():
        pytest.fail(f"CI=true but {CHROMIUM} is missing: .ci/run installs it as root")
    if IN_CI:
        import playwright.sync_api as sync_api  # part of the dev extra: must be there
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    # The emulator's CA is made at its start and is not in Chromium's store; TLS itself is
    # tested against that CA by the API tests, so this page may skip the check.
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(STEP_SECONDS * 1000)
    yield context.new_page()
    context.close()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    for variable in [name for name in os.environ if name.startswith("O365_")]:
        monkeypatch.delenv(variable)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    yield tmp_path
    stop_embedded_emulator(tmp_path / "data" / ".emulator")


class Onboarding:
    """`o365-pipeline onboard` in its own process, as a user runs it; its output read on a
    thread so every wait on it is bounded.
    """

    def __init__(self, folder: Path, name: str, tenant: str) -> None:
        self._stderr = open(folder / f"onboard-{name}.err", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "o365_pipeline.cli", "onboard", name, tenant,
                "--no-browser", "--timeout", str(LISTEN_SECONDS), "--backfill-hours", "1",
            ],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=_new_users_environment(),
        )  # fmt: skip
        self._lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)

    def consent_url(self) -> str:
        deadline = time.monotonic() + URL_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            self.output.append(line)
            if "/v2.0/adminconsent?" in line:
                return line.strip()
        self.process.kill()
        pytest.fail(f"no consent URL within {URL_SECONDS} s:\n{''.join(self.output)}")

    def finish(self) -> tuple[int, str, str]:
        try:
            code = self.process.wait(timeout=FINISH_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=STEP_SECONDS)
        self._reader.join(STEP_SECONDS)  # the pipe ends with the process
        while not self._lines.empty():
            self.output.append(self._lines.get_nowait())
        self._stderr.seek(0)
        return code, "".join(self.output), self._stderr.read()


def _new_users_environment() -> dict[str, str]:
    """A new user's shell: no O365_* configuration, no Dagster instance, no display."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name not in ("DAGSTER_HOME", "DISPLAY")
    }


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "o365_pipeline.cli", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=FINISH_SECONDS,
        env=_new_users_environment(),
    )


def _registry(folder: Path) -> dict[str, dict]:
    entries = json.loads((folder / "data" / "tenants.json").read_text())["tenants"]
    return {entry["name"]: entry for entry in entries}


def test_accept_in_the_browser_completes_onboarding_and_lands_data(folder, page):
    onboarding = Onboarding(folder, "acme", ACME)

    page.goto(onboarding.consent_url())
    permissions = page.locator("#permissions li").all_inner_texts()
    page.get_by_role("button", name="Accept").click()
    page.get_by_text("Consent recorded; you can close this tab").wait_for()
    code, out, err = onboarding.finish()

    assert permissions == [
        "Read activity data for your organization",
        "Read service health information for your organization",
        "Read DLP policy events including detected sensitive data",
        "Sign in and read user profile",
    ]
    assert code == 0, out + err
    assert f"admin consent granted for acme in tenant {ACME}" in out
    assert "1 window(s) landed, 0 failed" in out
    assert "consent_pending_since" not in _registry(folder)["acme"]
    doctor = _cli(folder, "doctor", "acme")
    assert doctor.returncode == 0 and "verdict: ready" in doctor.stdout, doctor.stdout
    assert_landed_equals_ground_truth(folder / "data", "acme", ACME, landed_window(out))


def test_cancel_in_the_browser_is_one_clear_line_and_schedules_nothing(folder, page):
    onboarding = Onboarding(folder, "globex", GLOBEX)

    page.goto(onboarding.consent_url())
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Consent not recorded").wait_for()
    shown = page.locator("#message").inner_text()
    code, out, err = onboarding.finish()

    assert "consent was declined for globex" in shown
    assert code == 2, out + err
    assert err.startswith("error: Admin consent was declined for globex") and err.count("\n") == 1
    assert "AADSTS65004" in err
    assert _registry(folder)["globex"]["consent_pending_since"]
    settings = load_settings(data_dir=folder / "data")
    served = [tenant.name for tenant in directory_for(settings).all()]
    assert "globex" not in served and DEMO_TENANTS[0].name in served
    with dg.instance_for_test() as instance:
        sensor = build_tenant_registry_sensor(directory_for(settings))
        result = sensor(dg.build_sensor_context(instance=instance))
    added = [
        name for request in result.dynamic_partitions_requests for name in request.partition_keys
    ]
    assert "globex" not in added and DEMO_TENANTS[0].name in added
    backfill = _cli(folder, "backfill", "globex", "--hours", "1")
    assert backfill.returncode == 2 and "waits for admin consent" in backfill.stderr
