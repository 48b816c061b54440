"""Entra ID views: `sign_ins` (RecordType 15 STS logons and 9 account logons) and
`directory_changes` (RecordType 8: users, groups, roles, applications, consent).

Field names follow "Office 365 Management Activity API schema" (Azure Active Directory base,
STS logon and directory schemas). `ResultStatus` on STS logons says `Success` even for some
failures, so `result` is decided by the Operation and `ErrorNumber` (AADSTS code, `0` = none).
"""

from __future__ import annotations

from o365_pipeline.storage.workload_columns.audit import (
    RAW_JSON,
    address_columns,
    from_audit,
    record_columns,
)
from o365_pipeline.storage.workload_columns.json_fields import (
    IDENTITY_LIST,
    identity_of_type,
    integer,
    name_values,
    structs,
    text,
    value_named,
)
from o365_pipeline.storage.workload_columns.model import Column, Prepared, WorkloadView

ENTRA = "Audit.AzureActiveDirectory"
_ADDRESS = Prepared("client_ip", f"coalesce(nullif(trim(ClientIP), ''), {text('ActorIpAddress')})")

SIGN_INS = WorkloadView(
    name="sign_ins",
    content_type=ENTRA,
    record_types=(15, 9),
    description=(
        "Entra ID sign-ins (STS logons, RecordType 15; legacy account logons, 9): who signed "
        "in to which application, from where, how, and whether it worked."
    ),
    prepared=(
        _ADDRESS,
        Prepared("extended", name_values("ExtendedProperties")),
        Prepared("device", name_values("DeviceProperties")),
        Prepared("error_code", integer("ErrorNumber")),
    ),
    columns=(
        *record_columns(),
        *address_columns(),
        Column(
            "result",
            "VARCHAR",
            "CASE WHEN Operation = 'UserLoginFailed' OR coalesce(error_code, 0) <> 0 "
            "THEN 'Failure' ELSE 'Success' END",
            "`Failure` for UserLoginFailed or a non-zero ErrorNumber, else `Success`.",
        ),
        Column(
            "error_number",
            "INTEGER",
            "error_code",
            "The AADSTS error number (`50126` wrong password, …); 0 or NULL when none.",
        ),
        Column("logon_error", "VARCHAR", text("LogonError"), "Why it failed, by name."),
        Column(
            "result_status_detail",
            "VARCHAR",
            value_named("extended", "ResultStatusDetail"),
            "ExtendedProperties `ResultStatusDetail` (`Success`, `Redirect`, …).",
        ),
        Column(
            "application_id",
            "VARCHAR",
            f"coalesce({text('ApplicationId')}, {text('Application')})",
            "The client application's id (ApplicationId).",
        ),
        Column(
            "application_name",
            "VARCHAR",
            f"coalesce({text('ApplicationDisplayName')}, {text('AppDisplayName')})",
            "The application's display name, when the record carries one.",
        ),
        Column(
            "resource_id",
            "VARCHAR",
            '"ObjectId"',
            "The resource signed in to (its app id; ObjectId and Target[0]).",
        ),
        Column(
            "user_agent",
            "VARCHAR",
            f"coalesce({value_named('extended', 'UserAgent')}, "
            f"{value_named('device', 'UserAgent')})",
            "The browser or client's user agent (ExtendedProperties).",
        ),
        Column(
            "request_type",
            "VARCHAR",
            value_named("extended", "RequestType"),
            "`OAuth2:Authorize`, `Login:login`, `SAS:EndAuth`, … (ExtendedProperties).",
        ),
        Column(
            "auth_method",
            "VARCHAR",
            value_named("extended", "UserAuthenticationMethod"),
            "ExtendedProperties `UserAuthenticationMethod` (a number, as Microsoft writes it).",
        ),
        Column(
            "keep_me_signed_in",
            "BOOLEAN",
            value_named("extended", "KeepMeSignedIn"),
            "Whether the user chose to stay signed in.",
        ),
        Column("os", "VARCHAR", value_named("device", "OS"), "DeviceProperties `OS`."),
        Column(
            "browser", "VARCHAR", value_named("device", "BrowserType"), "DeviceProperties browser."
        ),
        Column(
            "device_compliant",
            "BOOLEAN",
            value_named("device", "IsCompliant"),
            "DeviceProperties `IsCompliant`, when the device is known.",
        ),
        Column(
            "session_id", "VARCHAR", value_named("device", "SessionId"), "The Entra session id."
        ),
        RAW_JSON,
    ),
)

# Entra's operation names ("Add member to role.", "Consent to application.", "Add app role
# assignment to service principal.", "Add delegated permission grant.", …): an app role is
# an application permission, not an admin role, so applications are decided before roles.
_CHANGE_KIND = (
    "CASE WHEN Operation ILIKE '%consent%' THEN 'consent' "
    "WHEN Operation ILIKE '%application%' OR Operation ILIKE '%service principal%' "
    "OR Operation ILIKE '%app role%' OR Operation ILIKE '%permission grant%' "
    "THEN 'application' "
    "WHEN Operation ILIKE '%role%' THEN 'role' "
    "WHEN Operation ILIKE '%group%' THEN 'group' "
    "WHEN Operation ILIKE '%user%' OR Operation ILIKE '%password%' THEN 'user' "
    "ELSE 'other' END"
)
_PROPERTY = '[{"Name":"VARCHAR","OldValue":"VARCHAR","NewValue":"VARCHAR"}]'


def _modified(name: str) -> str:
    """A ModifiedProperties new value, without the quotes Entra wraps JSON strings in."""
    value = f"list_filter(modified, lambda change: change.Name = '{name}')[1].NewValue"
    return f"nullif(trim(trim({value}), '\"'), '')"


DIRECTORY_CHANGES = WorkloadView(
    name="directory_changes",
    content_type=ENTRA,
    record_types=(8,),
    description=(
        "Entra ID directory changes (RecordType 8): users, groups, role assignments, "
        "applications and consent, with the actor, the target and what changed."
    ),
    prepared=(
        _ADDRESS,
        Prepared("extended", name_values("ExtendedProperties")),
        Prepared("actors", structs("Actor", IDENTITY_LIST)),
        Prepared("targets", structs("Target", IDENTITY_LIST)),
        Prepared("modified", structs("ModifiedProperties", _PROPERTY)),
    ),
    columns=(
        *record_columns(),
        *address_columns(),
        Column(
            "change_kind",
            "VARCHAR",
            _CHANGE_KIND,
            "`role`, `consent`, `application`, `group`, `user` or `other`, from the Operation.",
        ),
        from_audit("ResultStatus"),
        Column(
            "actor",
            "VARCHAR",
            f"coalesce({identity_of_type('actors', 5)}, UserId)",
            "Who made the change: the Actor of Type 5 (UPN), else UserId.",
        ),
        Column(
            "actor_app_id",
            "VARCHAR",
            value_named("extended", "actorAppID"),
            "The application the actor used (ExtendedProperties `actorAppID`).",
        ),
        Column(
            "target",
            "VARCHAR",
            f"coalesce({identity_of_type('targets', 5)}, nullif(ObjectId, ''), targets[1].ID)",
            "What was changed: the Target UPN, else ObjectId, else the first Target id.",
        ),
        Column(
            "target_name",
            "VARCHAR",
            value_named("extended", "targetName"),
            "The target's display name (an application's or role's name).",
        ),
        Column(
            "target_ids",
            "VARCHAR[]",
            "list_filter(list_transform(targets, lambda identity: identity.ID), "
            "lambda id: id IS NOT NULL)",
            "Every Target ID (object id, UPN, app id, …).",
        ),
        Column(
            "category",
            "VARCHAR",
            value_named("extended", "extendedAuditEventCategory"),
            "`User`, `Group`, `Application`, `ServicePrincipal`, `Role`, … (ExtendedProperties).",
        ),
        Column("role_name", "VARCHAR", _modified("Role.DisplayName"), "The role granted/removed."),
        Column(
            "admin_consent",
            "BOOLEAN",
            _modified("ConsentContext.IsAdminConsent"),
            "For consent: whether an admin consented for the whole tenant.",
        ),
        Column(
            "permissions",
            "VARCHAR",
            _modified("ConsentAction.Permissions"),
            "For consent: the permissions granted, as Entra wrote them.",
        ),
        Column(
            "modified_properties",
            'STRUCT("name" VARCHAR, old_value VARCHAR, new_value VARCHAR)[]',
            "list_transform(modified, lambda change: "
            "{'name': change.Name, 'old_value': change.OldValue, 'new_value': change.NewValue})",
            "Each ModifiedProperties entry: name, old and new value.",
        ),
        Column(
            "event_type", "INTEGER", integer("AzureActiveDirectoryEventType"), "0 logon, 1 audit."
        ),
        RAW_JSON,
    ),
)
