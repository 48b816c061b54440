"""Microsoft Teams view: `teams_activity` (RecordType 25), in Audit.General.

Field names follow "Office 365 Management Activity API schema" (Microsoft Teams schema).
"""

from __future__ import annotations

from o365_pipeline.storage.workload_columns.audit import RAW_JSON, address_columns, record_columns
from o365_pipeline.storage.workload_columns.json_fields import structs, text
from o365_pipeline.storage.workload_columns.model import Column, Prepared, WorkloadView

_MEMBERS = '[{"UPN":"VARCHAR","Role":"VARCHAR","DisplayName":"VARCHAR"}]'


def _field(name: str, column: str, description: str) -> Column:
    return Column(column, "VARCHAR", text(name), description)


TEAMS_ACTIVITY = WorkloadView(
    name="teams_activity",
    content_type="Audit.General",
    record_types=(25,),
    description=(
        "Microsoft Teams activity (RecordType 25): teams and channels created, members added "
        "or removed, apps, tabs, meetings and messages."
    ),
    prepared=(
        Prepared("client_ip", "ClientIP"),
        Prepared("team_members", structs("Members", _MEMBERS)),
    ),
    columns=(
        *record_columns(),
        *address_columns(),
        _field("TeamName", "team_name", "The team."),
        _field("TeamGuid", "team_guid", "The team's id."),
        _field("ChannelName", "channel_name", "The channel."),
        _field("ChannelGuid", "channel_guid", "The channel's id."),
        _field("ChannelType", "channel_type", "`Standard`, `Private` or `Shared`."),
        Column(
            "members",
            "VARCHAR[]",
            "list_filter(list_transform(team_members, lambda member: member.UPN), "
            "lambda upn: upn IS NOT NULL)",
            "The UPNs of the members added, removed or changed.",
        ),
        Column(
            "member_roles",
            "VARCHAR[]",
            "list_transform(team_members, lambda member: member.Role)",
            "Their roles, in the same order (1 Owner … as Teams numbers them).",
        ),
        _field("CommunicationType", "communication_type", "`Team`, `GroupChat`, `OneOnOne`, …"),
        _field("ItemName", "item_name", "The name of what was acted on (a team, a setting)."),
        _field("AddOnType", "add_on_type", "For apps: bot, connector, tab, …"),
        _field("AddOnName", "add_on_name", "The app's name."),
        _field("ChatThreadId", "chat_thread_id", "The chat or channel thread."),
        Column(
            "message_id",
            "VARCHAR",
            f"coalesce({text('MessageId')}, {text('Message.Id')})",
            "The message, for message events.",
        ),
        RAW_JSON,
    ),
)
