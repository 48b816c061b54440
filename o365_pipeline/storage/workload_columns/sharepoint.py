"""SharePoint and OneDrive view: `file_activity` (RecordType 4 SharePoint base, 6 file
operations, 14 sharing).

Field names follow "Office 365 Management Activity API schema" (SharePoint base, SharePoint
file operations and SharePoint sharing schemas). `Workload` says SharePoint or OneDrive.
"""

from __future__ import annotations

from o365_pipeline.storage.workload_columns.audit import (
    RAW_JSON,
    address_columns,
    from_audit,
    record_columns,
)
from o365_pipeline.storage.workload_columns.json_fields import integer, text
from o365_pipeline.storage.workload_columns.model import Column, Prepared, WorkloadView


def _field(name: str, column: str, description: str) -> Column:
    return Column(column, "VARCHAR", text(name), description)


FILE_ACTIVITY = WorkloadView(
    name="file_activity",
    content_type="Audit.SharePoint",
    record_types=(4, 6, 14),
    description=(
        "SharePoint and OneDrive file and sharing activity (RecordType 4, 6, 14): which site, "
        "folder and file, from which client, and who it was shared with."
    ),
    prepared=(Prepared("client_ip", "ClientIP"),),
    columns=(
        *record_columns(),
        *address_columns(),
        from_audit("ObjectId", "The full URL of the file, folder or site acted on."),
        _field("SiteUrl", "site_url", "The site (or OneDrive) URL."),
        _field("SourceRelativeUrl", "source_relative_url", "The folder, relative to the site."),
        _field("SourceFileName", "source_file_name", "The file's name."),
        _field("SourceFileExtension", "source_file_extension", "Its extension (`docx`, …)."),
        _field(
            "DestinationRelativeUrl",
            "destination_relative_url",
            "Where it was copied or moved to.",
        ),
        _field("DestinationFileName", "destination_file_name", "The name it was given there."),
        _field("ItemType", "item_type", "`File`, `Folder`, `Web`, `Site`, `List`, …"),
        _field("EventSource", "event_source", "`SharePoint` or `ObjectModel`."),
        _field("UserAgent", "user_agent", "The client's user agent."),
        _field(
            "ApplicationDisplayName",
            "application_name",
            "The application that acted, when not a browser.",
        ),
        _field(
            "TargetUserOrGroupName",
            "target_user_or_group_name",
            "Sharing: who (user, guest or group) it was shared with.",
        ),
        _field(
            "TargetUserOrGroupType",
            "target_user_or_group_type",
            "Sharing: `Member`, `Guest`, `SharePointGroup`, `SecurityGroup`, …",
        ),
        _field("EventData", "event_data", "Sharing details as SharePoint wrote them (XML text)."),
        Column(
            "file_size_bytes",
            "BIGINT",
            f"coalesce({integer('FileSizeBytes')}, {integer('FileSize')})",
            "The file's size, when the record carries it.",
        ),
        RAW_JSON,
    ),
)
