"""`dagster dev` (the README's) and `dg dev` (Dagster 1.13's project command) both serve the code
location from the repository root with no configuration: the webserver answers, and its
workspace shows the location loaded with the audit assets."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Starting the webserver and the daemon, each importing Dagster and the code location, on a
# loaded 2-core machine.
START_SECONDS = 300
WORKSPACE_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation {
    repositories { assetNodes { assetKey { path } } } } } } } } }"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workspace(port: int) -> dict | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": WORKSPACE_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)["data"]["workspaceOrError"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.mark.parametrize("command", [["dagster", "dev"], ["dg", "dev"]], ids=" ".join)
def test_the_dev_server_loads_the_code_location(tmp_path, command):
    port = _free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name != "DAGSTER_HOME"
    }
    environment |= {
        "VIRTUAL_ENV": sys.prefix,
        "O365_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    server = subprocess.Popen(
        [str(BIN / command[0]), *command[1:], "--port", str(port)],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    loaded = None
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and server.poll() is None:
            workspace = _workspace(port)
            entries = (workspace or {}).get("locationEntries") or []
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                loaded = entries
                break
            time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=60)
    assert loaded, f"{' '.join(command)} did not serve a loaded code location"
    (entry,) = loaded
    assert entry["name"] == "o365_pipeline"
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    keys = {
        "/".join(node["assetKey"]["path"]) for node in location["repositories"][0]["assetNodes"]
    }
    assert {"subscriptions", "audit/audit_exchange", "content_listing/dlp_all"} <= keys
    assert not (tmp_path / "data" / ".emulator").exists()  # loading starts no emulator
