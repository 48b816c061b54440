"""The Dagster UI's asset page at partition scale: `dagster-webserver` started on the seeded
deployment, and the GraphQL queries its asset page and partitions tab send, timed.

The query texts follow the ones in dagster-webserver 1.13's web app (same operation names and
the fields that touch partitions; fragments the page uses only for layout are left out):
- AssetViewDefinitionQuery: the page header (partition definition, dimensions);
- AssetGraphLiveQuery: the live data of the asset node (its partition counts: materialized,
  materializing, failed, total; its checks' partition statuses; runs in progress);
- PartitionHealthQuery: the partitions tab's health bar (every key of both dimensions, and
  the status ranges of the time dimension × tenant);
- LatestAssetPartitionsQuery and AssetPartitionDetailQuery: the newest keys, and one
  partition opened in the tab.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
# Starting the webserver and its code server, each importing Dagster and the code location,
# on a loaded 2-core machine.
START_SECONDS = 300
QUERY_SECONDS = 600

WORKSPACE = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename } } } } }"""

ASSET_VIEW_DEFINITION = """
query AssetViewDefinitionQuery($assetKey: AssetKeyInput!) {
  assetOrError(assetKey: $assetKey) {
    ... on Asset {
      id
      key { path }
      hasDefinitionOrRecord
      assetMaterializations(limit: 1) { timestamp runId }
      definition {
        id
        groupName
        isExecutable
        partitionDefinition { description dimensionTypes { type dynamicPartitionsDefinitionName } }
        partitionKeysByDimension { name }
        backfillPolicy { description }
      }
    }
  }
}"""

CHECK_STATUSES = """
  ... on AssetCheckDefaultPartitionStatuses {
    succeededPartitions failedPartitions inProgressPartitions skippedPartitions
    executionFailedPartitions
  }
  ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }"""

ASSET_GRAPH_LIVE = f"""
query AssetGraphLiveQuery($assetKeys: [AssetKeyInput!]!) {{
  assetNodes(assetKeys: $assetKeys, loadMaterializations: true) {{
    id
    opNames
    assetKey {{ path }}
    assetMaterializations(limit: 1) {{ timestamp runId stepKey }}
    assetObservations(limit: 1) {{ timestamp runId stepKey }}
    assetChecksOrError {{
      ... on AssetChecks {{
        checks {{
          name
          executionForLatestMaterialization {{ id runId status timestamp }}
          partitionStatuses {{
            {CHECK_STATUSES}
            ... on AssetCheckMultiPartitionStatuses {{
              primaryDimensionName
              ranges {{ primaryDimStartKey primaryDimEndKey secondaryDim {{ {CHECK_STATUSES} }} }}
            }}
          }}
        }}
      }}
    }}
    partitionStats {{ numMaterialized numMaterializing numPartitions numFailed }}
  }}
  assetsLatestInfo(assetKeys: $assetKeys) {{
    id
    unstartedRunIds
    inProgressRunIds
    latestRun {{ id status startTime endTime }}
  }}
}}"""

STATUSES = """
  ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
  ... on DefaultPartitionStatuses {
    materializedPartitions materializingPartitions failedPartitions
  }"""

PARTITION_HEALTH = f"""
query PartitionHealthQuery($assetKey: AssetKeyInput!) {{
  assetNodeOrError(assetKey: $assetKey) {{
    ... on AssetNode {{
      id
      partitionKeysByDimension {{ name type partitionKeys }}
      assetPartitionStatuses {{
        {STATUSES}
        ... on MultiPartitionStatuses {{
          primaryDimensionName
          ranges {{
            primaryDimStartKey primaryDimEndKey primaryDimStartTime primaryDimEndTime
            secondaryDim {{ {STATUSES} }}
          }}
        }}
      }}
    }}
  }}
}}"""

LATEST_ASSET_PARTITIONS = """
query LatestAssetPartitionsQuery($assetKey: AssetKeyInput!, $limit: Int!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode { id partitionKeyConnection(limit: $limit, ascending: false) { results } }
  }
}"""

ASSET_PARTITION_DETAIL = """
query AssetPartitionDetailQuery($assetKey: AssetKeyInput!, $partitionKey: String!) {
  assetOrError(assetKey: $assetKey) {
    ... on Asset {
      id
      definition { id latestRunForPartition(partition: $partitionKey) { id status endTime } }
      assetEventHistory(
        partitions: [$partitionKey]
        limit: 1000
        eventTypeSelectors: [MATERIALIZATION, OBSERVATION, FAILED_TO_MATERIALIZE]
      ) {
        results { ... on MaterializationEvent { runId timestamp partition } }
      }
    }
  }
}"""


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningWebserver:
    """`dagster-webserver -w workspace.yaml` on the deployment, in its own process group (it
    starts a code server of its own), stopped with the whole group.
    """

    def __init__(self, workspace: Path, environment: dict[str, str], cwd: Path, log: Path):
        self.port = free_port()
        self._command = [
            str(BIN / "dagster-webserver"),
            "-w",
            str(workspace),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        self._environment, self._cwd, self._log = environment, cwd, log

    def __enter__(self) -> RunningWebserver:
        began = time.perf_counter()
        with self._log.open("w") as log:
            self._process = subprocess.Popen(
                self._command,
                cwd=self._cwd,
                env=self._environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_loaded()
        except BaseException:
            self.__exit__()
            raise
        self.start_seconds = round(time.perf_counter() - began, 2)
        return self

    def _wait_loaded(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                answer = self.query(WORKSPACE, timeout=10)
            except OSError:
                answer = {}
            entries = (answer.get("data") or {}).get("workspaceOrError", {}).get("locationEntries")
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                kinds = {entry["locationOrLoadError"]["__typename"] for entry in entries}
                if kinds != {"RepositoryLocation"}:
                    raise RuntimeError(f"the code location did not load; see {self._log}")
                return
            time.sleep(0.5)
        raise RuntimeError(f"the webserver did not serve the code location; see {self._log}")

    def query(self, text: str, variables: dict | None = None, *, timeout: float) -> dict:
        """One GraphQL request; its JSON answer."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": text, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)

    def timed(self, text: str, variables: dict) -> tuple[float, dict]:
        """Wall seconds of one request, and its answer (errors raised, with the query name)."""
        began = time.perf_counter()
        answer = self.query(text, variables, timeout=QUERY_SECONDS)
        seconds = time.perf_counter() - began
        if answer.get("errors"):
            raise RuntimeError(f"{text.split('(')[0].strip()}: {answer['errors'][:1]}")
        return seconds, answer["data"]

    def pid(self) -> int:
        """The webserver's process id (for a profiler)."""
        return self._process.pid

    def __exit__(self, *exc_info: object) -> None:
        if self._process.poll() is None or _group_alive(self._process.pid):
            _signal_group(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _signal_group(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=60)
        _signal_group(self._process.pid, signal.SIGKILL)  # a code server left behind


def _signal_group(group: int, signal_number: int) -> None:
    try:
        os.killpg(group, signal_number)
    except ProcessLookupError:
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
