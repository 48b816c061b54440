"""What the columns of `audit` mean, and the columns every workload view starts with.

`audit` itself is built in `storage/audit_view.py`; this module only describes its columns (for
`docs/views.md`, `COMMENT ON COLUMN` and the Dagster column schema). The common schema is
Microsoft's ("Office 365 Management Activity API schema", Common schema).
"""

from __future__ import annotations

from o365_pipeline.storage.client_address import client_address_sql, client_port_sql
from o365_pipeline.storage.workload_columns.model import Column

AUDIT_DESCRIPTION = (
    "Every content type's records with the common schema typed, each (tenant, Id) once "
    "(Microsoft re-delivers records; the earliest delivery is shown), the original record in "
    "`raw_json`."
)

AUDIT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Id", "VARCHAR", "The record's GUID; unique per tenant in this view."),
    ("CreationTime", "TIMESTAMPTZ", "When the event happened (UTC)."),
    ("Operation", "VARCHAR", "The activity: `UserLoggedIn`, `FileDownloaded`, a cmdlet name, …"),
    ("RecordType", "INTEGER", "The record type number (`15` = Entra sign-in, …)."),
    ("RecordTypeName", "VARCHAR", "The record type's name in Microsoft's enumeration."),
    ("Workload", "VARCHAR", "The service: `Exchange`, `SharePoint`, `OneDrive`, …"),
    ("UserId", "VARCHAR", "The UPN (or system account) that performed the action."),
    ("UserKey", "VARCHAR", "An alternative id of the user: PUID, object GUID or SID."),
    ("UserType", "INTEGER", "0 Regular, 2 Admin, 4 System, 5 Application, 6 ServicePrincipal, …"),
    ("ClientIP", "VARCHAR", "The client address as the workload wrote it (maybe with a port)."),
    ("ObjectId", "VARCHAR", "What was acted on: file URL, cmdlet target, resource app id, …"),
    ("ResultStatus", "VARCHAR", "`Succeeded`, `Failed`, `True`/`False` (Exchange admin), …"),
    ("OrganizationId", "VARCHAR", "The tenant's GUID."),
    ("tenant", "VARCHAR", "The customer name the record was landed under."),
    ("content_type", "VARCHAR", "The Activity API content type it was listed in."),
    ("content_id", "VARCHAR", "The content blob it was read from."),
    ("content_created", "TIMESTAMPTZ", "When Microsoft made that blob available."),
    ("ingested_at", "TIMESTAMPTZ", "When this pipeline landed it."),
    ("date", "DATE", "The availability window's date (partition folder)."),
    ("hour", "INTEGER", "The availability window's hour (partition folder)."),
    ("raw_json", "VARCHAR", "The original record, byte for byte: every field, typed or not."),
    ("client_address", "VARCHAR", "`ClientIP` as the address alone (no port, no brackets)."),
    ("client_port", "INTEGER", "The port `ClientIP` carried, if any."),
)
_AUDIT = {name: (kind, description) for name, kind, description in AUDIT_COLUMNS}


def from_audit(name: str, description: str | None = None) -> Column:
    """An `audit` column passed through as it is."""
    kind, described = _AUDIT[name]
    return Column(name, kind, f'"{name}"', description or described, passthrough=True)


def record_columns() -> tuple[Column, ...]:
    """The columns every workload view starts with: where and when, who, what."""
    return (
        from_audit("tenant"),
        from_audit("Id"),
        from_audit("CreationTime"),
        from_audit("RecordType"),
        from_audit("Workload"),
        from_audit("Operation"),
        from_audit("UserId"),
    )


def address_columns(address: str = "client_ip") -> tuple[Column, ...]:
    """`client_address` and `client_port` from a prepared address value."""
    return (
        Column(
            "client_address",
            "VARCHAR",
            client_address_sql(address),
            "The client's address alone (port and IPv6 brackets removed).",
        ),
        Column("client_port", "INTEGER", client_port_sql(address), "The port, when one was sent."),
    )


RAW_JSON = from_audit("raw_json", "The original record: every field this view does not type.")
