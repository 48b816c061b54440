"""The emulator's ground truth read as an outside client reads it: through its control
endpoint over loopback HTTPS (for a standalone emulator process, or the local service)."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import requests

from o365_pipeline.content_types import CONTENT_TYPES


def ground_truth_ids(
    base_url: str,
    ca_file: str | Path,
    tenant_id: str,
    window_starts: Iterable[datetime],
    *,
    timeout: float,
) -> set[str]:
    """Every record Id the emulator serves in the hours starting at `window_starts`, over all
    five content types.
    """
    ids: set[str] = set()
    for start in window_starts:
        for kind in CONTENT_TYPES:
            answer = requests.get(
                f"{base_url}/_emulator/ground-truth",
                params={
                    "tenantId": tenant_id,
                    "contentType": kind.name,
                    "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
                    "endTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                },
                verify=str(ca_file),
                timeout=timeout,
            )
            answer.raise_for_status()
            ids |= set(answer.json()["ids"])
    return ids


def planted_patterns(
    base_url: str,
    ca_file: str | Path,
    tenant_id: str,
    start: datetime,
    end: datetime,
    *,
    timeout: float,
) -> list[dict]:
    """The attack patterns the emulator planted in the tenant's hours start ≤ hour < end (its
    truth endpoint): each with the rule that should find it, its user and its record Ids.
    """
    answer = requests.get(
        f"{base_url}/_emulator/planted-patterns",
        params={
            "tenantId": tenant_id,
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "endTime": end.strftime("%Y-%m-%dT%H:%M:%S"),
        },
        verify=str(ca_file),
        timeout=timeout,
    )
    answer.raise_for_status()
    return answer.json()["patterns"]
