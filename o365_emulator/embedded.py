"""The emulator started on demand for the Dagster resource and the demo: the default target,
so a new user gets data flowing with no credentials.

Dagster runs steps and runs in separate processes, and a listing saved by one step holds
contentUris that another step must be able to fetch from the same host and port, as from one
real service. So the on-demand emulator is one local service per data folder: the first user
starts it as a background process on a port derived from the folder, later users (any
process) find it through `endpoint.json`, and it exits by itself after an idle period. Its CA
and subscription state live in the folder, so a restart keeps clients' trust and saved URIs.
"""

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests

from o365_emulator.command import ENDPOINT_FILE
from o365_emulator.planted_patterns import PLANT_EVERY_HOURS
from o365_emulator.samples import SAMPLE_TENANTS, sample_arguments

IDLE_EXIT_SECONDS = 1800
START_TIMEOUT_SECONDS = 30
_process_lock = threading.Lock()


@dataclass(frozen=True)
class EmbeddedEmulator:
    """Where the on-demand emulator listens, and how to ask it for ground truth."""

    base_url: str
    ca_cert_path: Path
    pid: int

    def ground_truth(
        self, tenant_id: str, content_type: str, start: datetime, end: datetime
    ) -> frozenset[str]:
        """Distinct record Ids the emulator lists for the window (its ground-truth endpoint)."""
        response = requests.get(
            f"{self.base_url}/_emulator/ground-truth",
            params={
                "tenantId": tenant_id,
                "contentType": content_type,
                "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
                "endTime": end.strftime("%Y-%m-%dT%H:%M:%S"),
            },
            verify=str(self.ca_cert_path),
            timeout=60,
        )
        response.raise_for_status()
        return frozenset(response.json()["ids"])

    def planted_patterns(self, tenant_id: str, start: datetime, end: datetime) -> list[dict]:
        """The attack patterns planted in the tenant's hours start ≤ hour < end (its truth
        endpoint): rule, user, ip, firstSeen, lastSeen, ids.
        """
        response = requests.get(
            f"{self.base_url}/_emulator/planted-patterns",
            params={
                "tenantId": tenant_id,
                "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
                "endTime": end.strftime("%Y-%m-%dT%H:%M:%S"),
            },
            verify=str(self.ca_cert_path),
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["patterns"]

    def healthy(self) -> bool:
        """Whether it answers over TLS with the expected CA."""
        try:
            return requests.get(
                f"{self.base_url}/_emulator/health", verify=str(self.ca_cert_path), timeout=3
            ).ok
        except (requests.RequestException, OSError):
            return False


def embedded_emulator(
    *,
    tenant_ids: tuple[str, ...],
    state_dir: Path,
    records_per_hour: int,
    consent_required: tuple[str, ...] = (),
) -> EmbeddedEmulator:
    """The on-demand emulator for `state_dir`, started if none is running with these settings.

    `consent_required` are tenants (also served) whose administrator has not granted admin
    consent yet: they get tokens without roles until Accept on the emulator's consent page.
    They are part of the settings, so the emulator restarts when a tenant's consent is recorded
    and then plays it as any other tenant.
    """
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = {"tenants": sorted(tenant_ids), "records": records_per_hour, "samples": 1}
    settings["planted_every_hours"] = PLANT_EVERY_HOURS  # an emulator from before restarts
    if consent_required:  # absent otherwise: emulators started before keep their fingerprint
        settings["consent_required"] = sorted(consent_required)
    fingerprint = json.dumps(settings)
    with _process_lock, _file_lock(state_dir / "emulator.lock"):
        running = _running(state_dir)
        if running and running[1] == fingerprint:
            return running[0]
        if running:
            _terminate(running[0].pid)
        return _spawn(state_dir, fingerprint, tenant_ids, records_per_hour, consent_required)


def stop_embedded_emulator(state_dir: Path) -> bool:
    """Stop the on-demand emulator of `state_dir`, if one runs; True when one was stopped."""
    running = _running(state_dir.resolve())
    if running:
        _terminate(running[0].pid)
    return running is not None


def _running(state_dir: Path) -> tuple[EmbeddedEmulator, str] | None:
    try:
        endpoint = json.loads((state_dir / ENDPOINT_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    emulator = EmbeddedEmulator(
        endpoint["base_url"], Path(endpoint["ca_cert_path"]), int(endpoint["pid"])
    )
    return (emulator, endpoint.get("fingerprint", "")) if emulator.healthy() else None


def _spawn(
    state_dir: Path,
    fingerprint: str,
    tenant_ids: tuple[str, ...],
    records_per_hour: int,
    consent_required: tuple[str, ...],
) -> EmbeddedEmulator:
    (state_dir / ENDPOINT_FILE).unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "o365_emulator",
        "--port",
        str(_preferred_port(state_dir)),
        "--any-port-if-busy",
        "--state-dir",
        str(state_dir),
        "--records-per-hour",
        str(records_per_hour),
        "--idle-exit",
        str(IDLE_EXIT_SECONDS),
        "--fingerprint",
        fingerprint,
    ]
    samples = {sample.tenant_id for sample in SAMPLE_TENANTS}
    for tenant_id in tenant_ids:
        if tenant_id not in samples:
            command += ["--tenant", tenant_id]
    command += sample_arguments()  # the onboarding samples, always played
    for tenant_id in consent_required:
        command += ["--consent-required", tenant_id]
    log = open(state_dir / "emulator.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        running = _running(state_dir)
        if running and running[0].pid == process.pid:
            return running[0]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = (state_dir / "emulator.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(
        f"The local emulator did not start (see {state_dir / 'emulator.log'}):\n{tail}"
    )


def _preferred_port(state_dir: Path) -> int:
    """A port stable for this folder, so saved contentUris stay valid across restarts."""
    digest = hashlib.sha256(str(state_dir).encode()).digest()
    return 20000 + int.from_bytes(digest[:4], "big") % 20000


def _terminate(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(200):
        if not _alive(pid):
            return
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it, or it stays a zombie
        if reaped:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def _file_lock(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
