"""Consented permissions that change what lands, checked from the token the run uses.

Without ActivityFeed.ReadDlp the API still serves DLP.All, but without the matched sensitive
values, so the table silently lacks what DLP analysts need. The run says so instead.
"""

from __future__ import annotations

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.content_types import content_type_named

DLP_ROLE = "ActivityFeed.ReadDlp"


def missing_permission_warning(client: ManagementApiClient, content_type: str) -> str | None:
    """A sentence naming the missing permission and the fix, or None when nothing is missing."""
    if not content_type_named(content_type).needs_dlp_permission:
        return None
    if DLP_ROLE in client.granted_roles():
        return None
    return (
        f"The app's token lacks {DLP_ROLE}: {content_type} records land without their "
        "sensitive-information detections. Fix: add the application permission "
        f"{DLP_ROLE} (Office 365 Management APIs) and grant admin consent again."
    )
