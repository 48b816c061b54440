"""The column catalog of the typed workload views: every view over `audit`, its columns and
what they mean, in one place (one module per workload, as Microsoft's schema is organised).

`storage/workload_views.py` creates the views and their comments from it,
`storage/views_reference.py` writes `docs/views.md`, `defs/column_schemas.py` gives Dagster
its `TableSchema`s.
"""

from __future__ import annotations

from o365_pipeline.storage.workload_columns.audit import AUDIT_COLUMNS, AUDIT_DESCRIPTION
from o365_pipeline.storage.workload_columns.dlp import DLP_MATCHES
from o365_pipeline.storage.workload_columns.entra import DIRECTORY_CHANGES, SIGN_INS
from o365_pipeline.storage.workload_columns.exchange import EXCHANGE_ADMIN, MAILBOX_ACTIVITY
from o365_pipeline.storage.workload_columns.model import Column, Prepared, WorkloadView
from o365_pipeline.storage.workload_columns.sharepoint import FILE_ACTIVITY
from o365_pipeline.storage.workload_columns.teams import TEAMS_ACTIVITY

WORKLOAD_VIEWS: tuple[WorkloadView, ...] = (
    SIGN_INS,
    DIRECTORY_CHANGES,
    MAILBOX_ACTIVITY,
    EXCHANGE_ADMIN,
    FILE_ACTIVITY,
    TEAMS_ACTIVITY,
    DLP_MATCHES,
)

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_DESCRIPTION",
    "WORKLOAD_VIEWS",
    "Column",
    "Prepared",
    "WorkloadView",
]
