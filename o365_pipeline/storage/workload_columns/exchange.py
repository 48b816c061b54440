"""Exchange Online views: `mailbox_activity` (mailbox auditing: RecordType 2 single item,
3 item group, 19 aggregated, 50 MailItemsAccessed and friends) and `exchange_admin`
(RecordType 1: admin cmdlets with their parameters).

Field names follow "Office 365 Management Activity API schema" (Exchange mailbox and Exchange
admin schemas); LogonType values from its enumeration (0 Owner … 6 DelegatedAdmin).
"""

from __future__ import annotations

from o365_pipeline.storage.workload_columns.audit import (
    RAW_JSON,
    address_columns,
    from_audit,
    record_columns,
)
from o365_pipeline.storage.workload_columns.json_fields import (
    boolean,
    integer,
    json_list,
    name_value_map,
    name_values,
    structs,
    text,
    value_named,
)
from o365_pipeline.storage.workload_columns.model import Column, Prepared, WorkloadView

EXCHANGE = "Audit.Exchange"
_LOGON_TYPES = ("Owner", "Admin", "Delegated", "Transport", "SystemService", "BestAccess")
_LOGON_TYPE_NAME = (
    "CASE logon_code "
    + " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(_LOGON_TYPES))
    + " WHEN 6 THEN 'DelegatedAdmin' END"
)
_FOLDERS = '[{"Path":"VARCHAR","FolderItems":["JSON"]}]'

MAILBOX_ACTIVITY = WorkloadView(
    name="mailbox_activity",
    content_type=EXCHANGE,
    record_types=(2, 3, 19, 50),
    description=(
        "Mailbox auditing (RecordType 2, 3, 19, 50): whose mailbox, who logged on and how, "
        "with which client, which folders and how many items."
    ),
    prepared=(
        Prepared("client_ip", f"coalesce(nullif(trim(ClientIP), ''), {text('ClientIPAddress')})"),
        Prepared("logon_code", integer("LogonType")),
        Prepared("folders_touched", structs("Folders", _FOLDERS)),
        Prepared("affected", json_list("AffectedItems")),
        Prepared("operation_properties", name_values("OperationProperties")),
    ),
    columns=(
        *record_columns(),
        *address_columns(),
        from_audit("ResultStatus"),
        Column("mailbox_owner_upn", "VARCHAR", text("MailboxOwnerUPN"), "Whose mailbox."),
        Column("mailbox_guid", "VARCHAR", text("MailboxGuid"), "The mailbox's GUID."),
        Column("logon_type", "INTEGER", "logon_code", "0 Owner, 1 Admin, 2 Delegated, …"),
        Column(
            "logon_type_name",
            "VARCHAR",
            _LOGON_TYPE_NAME,
            "The LogonType by name: Owner, Admin, Delegated, Transport, SystemService, …",
        ),
        Column(
            "external_access",
            "BOOLEAN",
            boolean("ExternalAccess"),
            "True when Microsoft's datacenter staff or a partner performed it.",
        ),
        Column(
            "client_info_string",
            "VARCHAR",
            text("ClientInfoString"),
            "The client, as Exchange names it (`Client=OWA;…`, `Client=REST;…`).",
        ),
        Column(
            "client_app_id",
            "VARCHAR",
            f"coalesce({text('ClientAppId')}, {text('AppId')})",
            "The Entra application that accessed the mailbox, if any.",
        ),
        Column("item_subject", "VARCHAR", text("Item.Subject"), "The single item's subject."),
        Column(
            "item_folder",
            "VARCHAR",
            f"coalesce({text('Item.ParentFolder.Path')}, {text('Folder.Path')})",
            "The folder of the item or item group.",
        ),
        Column(
            "destination_folder",
            "VARCHAR",
            text("DestFolder.Path"),
            "Where items were moved or copied to.",
        ),
        Column(
            "folders",
            "VARCHAR[]",
            "list_filter(list_transform(folders_touched, lambda folder: folder.Path), "
            "lambda path: path IS NOT NULL)",
            "The folder paths of an aggregated record (Folders[].Path).",
        ),
        Column(
            "item_count",
            "BIGINT",
            "CASE WHEN len(affected) > 0 THEN len(affected) "
            "WHEN len(folders_touched) > 0 THEN list_sum(list_transform(folders_touched, "
            "lambda folder: coalesce(len(folder.FolderItems), 0))) "
            "WHEN json_type(raw_json, '$.Item') = 'OBJECT' THEN 1 END",
            "Items touched: AffectedItems, or the FolderItems of every folder, or 1 for an Item.",
        ),
        Column(
            "operation_count",
            "BIGINT",
            integer("OperationCount"),
            "How many operations an aggregated record stands for.",
        ),
        Column(
            "mail_access_type",
            "VARCHAR",
            value_named("operation_properties", "MailAccessType"),
            "MailItemsAccessed: `Bind` (one item) or `Sync` (a folder synchronised).",
        ),
        RAW_JSON,
    ),
)

_FORWARDING = (
    "ForwardTo",
    "ForwardingSmtpAddress",
    "ForwardingAddress",
    "RedirectTo",
    "ForwardAsAttachmentTo",
)

EXCHANGE_ADMIN = WorkloadView(
    name="exchange_admin",
    content_type=EXCHANGE,
    record_types=(1,),
    description=(
        "Exchange admin cmdlets (RecordType 1): the cmdlet, its parameters as a map, its "
        "target, and where mail is forwarded when a rule or mailbox setting says so."
    ),
    prepared=(
        Prepared("client_ip", "ClientIP"),
        Prepared("parameter_map", name_value_map(name_values("Parameters"))),
    ),
    columns=(
        *record_columns(),
        *address_columns(),
        Column("cmdlet", "VARCHAR", '"Operation"', "The cmdlet run (`New-InboxRule`, …)."),
        Column(
            "parameters",
            "MAP(VARCHAR, VARCHAR)",
            "parameter_map",
            "Its Parameters, name → value (the first value of a repeated name).",
        ),
        Column("target", "VARCHAR", '"ObjectId"', "The object the cmdlet acted on."),
        Column(
            "succeeded",
            "BOOLEAN",
            "TRY_CAST(ResultStatus AS BOOLEAN)",
            "Whether the cmdlet succeeded (ResultStatus `True`/`False`).",
        ),
        Column(
            "forwarding_address",
            "VARCHAR",
            "coalesce("
            + ", ".join(f"nullif(trim(parameter_map['{name}']), '')" for name in _FORWARDING)
            + ")",
            "Where mail goes: ForwardTo, ForwardingSmtpAddress, RedirectTo, … when set.",
        ),
        Column(
            "external_access",
            "BOOLEAN",
            boolean("ExternalAccess"),
            "True when Microsoft's datacenter staff or a partner ran it.",
        ),
        Column(
            "originating_server",
            "VARCHAR",
            text("OriginatingServer"),
            "The Exchange server that ran the cmdlet.",
        ),
        Column(
            "client_app_id",
            "VARCHAR",
            f"coalesce({text('AppId')}, {text('ClientAppId')})",
            "The Entra application that ran it, if not a person.",
        ),
        RAW_JSON,
    ),
)
