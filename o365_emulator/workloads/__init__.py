"""Builders of realistic audit records, one module per workload, shaped after Microsoft's
"Office 365 Management Activity API schema" (values invented).

Each builder takes a seeded `random.Random`, the tenant's `Population` and the event time, and
returns the workload fields plus RecordType, Operation, Workload, UserType, UserKey;
`synthetic.py` adds the common fields. Which builders feed which content type, and how often,
is data (`BUILDERS_BY_CONTENT_TYPE`), not code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from o365_emulator.workloads.dlp import dlp_exchange, dlp_sharepoint
from o365_emulator.workloads.entra import directory_change, sign_in
from o365_emulator.workloads.exchange import (
    exchange_admin,
    mail_items_accessed,
    mailbox_item,
)
from o365_emulator.workloads.general import power_bi_activity, teams_activity
from o365_emulator.workloads.population import Population
from o365_emulator.workloads.sharepoint import file_operation, sharing_operation

RecordBuilder = Callable[[random.Random, Population, datetime], dict]

BUILDERS_BY_CONTENT_TYPE: dict[str, tuple[tuple[RecordBuilder, int], ...]] = {
    "Audit.AzureActiveDirectory": ((sign_in, 8), (directory_change, 1)),
    "Audit.Exchange": ((exchange_admin, 1), (mailbox_item, 4), (mail_items_accessed, 4)),
    "Audit.SharePoint": ((file_operation, 8), (sharing_operation, 1)),
    "Audit.General": ((teams_activity, 3), (power_bi_activity, 1)),
    "DLP.All": ((dlp_sharepoint, 1), (dlp_exchange, 1)),
}

__all__ = ["BUILDERS_BY_CONTENT_TYPE", "Population", "RecordBuilder"]
