"""Builders of realistic audit records, one per workload, shaped after Microsoft's schema
reference and the examples in api-spec-detail §7.4/§7.6 (values invented).

Each builder takes a seeded `random.Random`, the tenant's `Population` and the event time, and
returns the workload fields; `synthetic.py` adds the common fields.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

USER_NAMES = (
    "megan.b",
    "alex.w",
    "diego.s",
    "isaiah.l",
    "joni.s",
    "lee.g",
    "lynne.r",
    "miriam.g",
    "nestor.w",
    "patti.f",
    "pradeep.g",
    "adele.v",
)
IPV4 = (
    "198.51.100.23",
    "203.0.113.77",
    "192.0.2.41",
    "198.51.100.180",
    "203.0.113.9",
    "192.0.2.200",
)
IPV6 = ("2001:db8:4f::17", "2001:db8:12::a1")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18025; Pro)",
)
FILES = (
    ("Finance", "Q4 forecast.xlsx"),
    ("Finance", "Budget 2027.xlsx"),
    ("Sales", "Pipeline.pptx"),
    ("HR", "Salaries.xlsx"),
    ("Legal", "NDA template.docx"),
    ("Engineering", "Design.docx"),
)


@dataclass(frozen=True)
class Population:
    """A tenant's users, addresses and names, so analyst queries have something to find."""

    tenant_id: str
    domain: str

    def user(self, rng: random.Random) -> str:
        """A user principal name of the tenant."""
        return f"{rng.choice(USER_NAMES)}@{self.domain}"

    def client_ip(self, rng: random.Random) -> str:
        """An IP as the service writes it: mostly IPv4, sometimes IPv6 or with a port."""
        roll = rng.random()
        if roll < 0.1:
            return rng.choice(IPV6)
        if roll < 0.2:
            return f"{rng.choice(IPV4)}:{rng.randint(1024, 65535)}"
        return rng.choice(IPV4)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def sign_in(rng: random.Random, people: Population, at: datetime) -> dict:
    """Entra STS logon (RecordType 15): UserLoggedIn, or UserLoginFailed with an AADSTS error."""
    failed = rng.random() < 0.15
    ip = rng.choice(IPV4)
    user = people.user(rng)
    return {
        "RecordType": 15,
        "Workload": "AzureActiveDirectory",
        "UserType": 0,
        "Operation": "UserLoginFailed" if failed else "UserLoggedIn",
        "ResultStatus": "Success" if not failed else "Failed",
        "UserId": user,
        "UserKey": _guid(rng),
        "ClientIP": ip,
        "ActorIpAddress": ip,
        "ObjectId": "00000003-0000-0ff1-ce00-000000000000",
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "ResultStatusDetail", "Value": "Success" if not failed else "Redirect"},
            {"Name": "UserAgent", "Value": rng.choice(USER_AGENTS)},
            {
                "Name": "RequestType",
                "Value": rng.choice(["OAuth2:Authorize", "Login:login", "SAS:EndAuth"]),
            },
            {"Name": "UserAuthenticationMethod", "Value": str(rng.choice([1, 3, 6]))},
            {"Name": "KeepMeSignedIn", "Value": "false"},
        ],
        "ModifiedProperties": [],
        "Actor": [{"ID": _guid(rng), "Type": 0}, {"ID": user, "Type": 5}],
        "ActorContextId": people.tenant_id,
        "InterSystemsId": _guid(rng),
        "IntraSystemId": _guid(rng),
        "SupportTicketId": "",
        "Target": [{"ID": "00000003-0000-0ff1-ce00-000000000000", "Type": 0}],
        "TargetContextId": people.tenant_id,
        "ApplicationId": _guid(rng),
        "DeviceProperties": [
            {"Name": "OS", "Value": rng.choice(["Windows10", "MacOs", "Ios"])},
            {"Name": "BrowserType", "Value": rng.choice(["Chrome", "Edge"])},
            {"Name": "SessionId", "Value": _guid(rng)},
        ],
        "ErrorNumber": rng.choice(["50126", "50053", "50074"]) if failed else "0",
        **(
            {
                "LogonError": rng.choice(
                    ["InvalidUserNameOrPassword", "IdsLocked", "UserStrongAuthClientAuthNRequired"]
                )
            }
            if failed
            else {}
        ),
    }


def directory_change(rng: random.Random, people: Population, at: datetime) -> dict:
    """Entra directory change (RecordType 8): users, groups, applications."""
    operation = rng.choice(
        [
            "Add user.",
            "Update user.",
            "Add member to group.",
            "Update application.",
            "Reset user password.",
        ]
    )
    admin = people.user(rng)
    target = people.user(rng)
    return {
        "RecordType": 8,
        "Workload": "AzureActiveDirectory",
        "UserType": 0,
        "Operation": operation,
        "ResultStatus": "Success",
        "UserId": admin,
        "UserKey": _guid(rng),
        "ObjectId": target,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "additionalDetails", "Value": "{}"},
            {"Name": "extendedAuditEventCategory", "Value": "User"},
        ],
        "ModifiedProperties": [{"Name": "AccountEnabled", "NewValue": "[true]", "OldValue": "[]"}],
        "Actor": [{"ID": admin, "Type": 5}],
        "ActorContextId": people.tenant_id,
        "Target": [{"ID": target, "Type": 5}],
        "TargetContextId": people.tenant_id,
    }


def exchange_admin(rng: random.Random, people: Population, at: datetime) -> dict:
    """Exchange admin cmdlet (RecordType 1): ObjectId is the target, Parameters list."""
    admin, owner = people.user(rng), people.user(rng)
    cmdlet = rng.choice(["New-InboxRule", "Set-Mailbox", "Add-MailboxPermission", "Set-InboxRule"])
    return {
        "RecordType": 1,
        "Workload": "Exchange",
        "UserType": 2,
        "Operation": cmdlet,
        "ResultStatus": rng.choice(["True", "True", "False"]),
        "UserId": admin,
        "UserKey": f"1003{rng.getrandbits(48):012X}",
        "ClientIP": people.client_ip(rng),
        "ObjectId": f"{people.domain}\\{owner.split('@')[0]}\\Rule {rng.randint(1, 9)}",
        "ExternalAccess": False,
        "OrganizationName": people.domain,
        "OriginatingServer": f"AM0PR06MB{rng.randint(1000, 9999)} (15.20.8293.000)",
        "Parameters": [
            {"Name": "Identity", "Value": owner},
            {"Name": "ForwardTo", "Value": "archive@example.net"},
            {"Name": "StopProcessingRules", "Value": "True"},
        ],
        "SessionId": _guid(rng),
    }


def mailbox_item(rng: random.Random, people: Population, at: datetime) -> dict:
    """Mailbox item operation (RecordType 2) with the Item touched."""
    owner = people.user(rng)
    ip = people.client_ip(rng)
    return {
        "RecordType": 2,
        "Workload": "Exchange",
        "UserType": 0,
        "Operation": rng.choice(["Update", "MoveToDeletedItems", "SoftDelete", "Send"]),
        "ResultStatus": "Succeeded",
        "UserId": owner,
        "UserKey": f"1003{rng.getrandbits(48):012X}",
        "ClientIP": ip,
        "ClientIPAddress": ip,
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "ExternalAccess": False,
        "InternalLogonType": 0,
        "LogonType": 0,
        "MailboxGuid": _guid(rng),
        "MailboxOwnerUPN": owner,
        "OrganizationName": people.domain,
        "Item": {
            "Id": f"RgAAAAD{rng.getrandbits(64):016X}",
            "Subject": rng.choice(["Invoice 4471", "Re: Q4 numbers", "Offsite agenda"]),
            "ParentFolder": {"Id": f"LgAAAAD{rng.getrandbits(32):08X}", "Path": "\\Inbox"},
            "SizeInBytes": rng.randint(2_000, 2_000_000),
        },
        "ModifiedProperties": ["IsRead"],
    }


def mail_items_accessed(rng: random.Random, people: Population, at: datetime) -> dict:
    """MailItemsAccessed (RecordType 50): aggregated access with Folders and OperationCount."""
    owner = people.user(rng)
    count = rng.randint(1, 30)
    return {
        "RecordType": 50,
        "Workload": "Exchange",
        "UserType": 0,
        "Operation": "MailItemsAccessed",
        "ResultStatus": "Succeeded",
        "UserId": owner,
        "UserKey": f"1003{rng.getrandbits(48):012X}",
        "ClientIP": people.client_ip(rng),
        "MailboxGuid": _guid(rng),
        "MailboxOwnerUPN": owner,
        "LogonType": 0,
        "OperationCount": count,
        "OrganizationName": people.domain,
        "OperationProperties": [{"Name": "MailAccessType", "Value": rng.choice(["Bind", "Sync"])}],
        "Folders": [
            {
                "Id": f"LgAAAAD{rng.getrandbits(32):08X}",
                "Path": "\\Inbox",
                "FolderItems": [
                    {
                        "InternetMessageId": f"<{rng.getrandbits(40):X}@example.com>",
                        "SizeInBytes": rng.randint(2_000, 90_000),
                    }
                ],
            }
        ],
    }


def file_operation(rng: random.Random, people: Population, at: datetime) -> dict:
    """SharePoint/OneDrive file operation (RecordType 6)."""
    site, name = rng.choice(FILES)
    site_url = f"https://{people.domain.split('.')[0]}.sharepoint.com/sites/{site}/"
    return {
        "RecordType": 6,
        "Workload": rng.choice(["SharePoint", "SharePoint", "OneDrive"]),
        "UserType": 0,
        "Operation": rng.choice(
            [
                "FileAccessed",
                "FileDownloaded",
                "FileUploaded",
                "FileModified",
                "FileDeleted",
                "FileAccessed",
            ]
        ),
        "UserId": people.user(rng),
        "UserKey": f"i:0h.f|membership|{rng.getrandbits(48):012x}@live.com",
        "ClientIP": people.client_ip(rng),
        "ObjectId": f"{site_url}Shared Documents/{name}",
        "CorrelationId": _guid(rng),
        "EventSource": "SharePoint",
        "ItemType": "File",
        "ListId": _guid(rng),
        "ListItemUniqueId": _guid(rng),
        "Site": _guid(rng),
        "WebId": _guid(rng),
        "UserAgent": rng.choice(USER_AGENTS),
        "SiteUrl": site_url,
        "SourceRelativeUrl": "Shared Documents",
        "SourceFileName": name,
        "SourceFileExtension": name.rsplit(".", 1)[1],
    }


def sharing_operation(rng: random.Random, people: Population, at: datetime) -> dict:
    """SharePoint sharing (RecordType 14): links and invitations."""
    site, name = rng.choice(FILES)
    site_url = f"https://{people.domain.split('.')[0]}.sharepoint.com/sites/{site}/"
    return {
        "RecordType": 14,
        "Workload": "SharePoint",
        "UserType": 0,
        "Operation": rng.choice(["SharingSet", "AnonymousLinkCreated", "SharingInvitationCreated"]),
        "UserId": people.user(rng),
        "UserKey": f"i:0h.f|membership|{rng.getrandbits(48):012x}@live.com",
        "ClientIP": people.client_ip(rng),
        "ObjectId": f"{site_url}Shared Documents/{name}",
        "EventSource": "SharePoint",
        "ItemType": "File",
        "SiteUrl": site_url,
        "SourceFileName": name,
        "TargetUserOrGroupName": rng.choice(
            ["partner@example.org", "Limited Access System Group", "guest@example.net"]
        ),
        "TargetUserOrGroupType": rng.choice(["Guest", "Member", "SharePointGroup"]),
        "UniqueSharingId": _guid(rng),
    }


def teams_activity(rng: random.Random, people: Population, at: datetime) -> dict:
    """Microsoft Teams (RecordType 25)."""
    return {
        "RecordType": 25,
        "Workload": "MicrosoftTeams",
        "UserType": 0,
        "Operation": rng.choice(
            [
                "MemberAdded",
                "TeamCreated",
                "ChannelAdded",
                "MessageSent",
                "MeetingParticipantDetail",
            ]
        ),
        "UserId": people.user(rng),
        "UserKey": _guid(rng),
        "ClientIP": people.client_ip(rng),
        "TeamName": rng.choice(["Finance", "Project Falcon", "All Company"]),
        "TeamGuid": f"19:{rng.getrandbits(64):x}@thread.skype",
        "ChannelName": rng.choice(["General", "Planning"]),
        "Members": [{"UPN": people.user(rng), "Role": 1, "DisplayName": "Member"}],
        "CommunicationType": "Team",
        "ItemName": "General",
    }


def power_bi_activity(rng: random.Random, people: Population, at: datetime) -> dict:
    """Power BI (RecordType 20)."""
    return {
        "RecordType": 20,
        "Workload": "PowerBI",
        "UserType": 0,
        "Operation": rng.choice(["ViewReport", "ExportReport", "ViewDashboard"]),
        "UserId": people.user(rng),
        "UserKey": f"1003{rng.getrandbits(48):012X}",
        "ClientIP": people.client_ip(rng),
        "ReportName": rng.choice(["Sales", "Headcount"]),
        "WorkSpaceName": "Finance",
        "DistributionMethod": "Workspace",
        "ObjectId": rng.choice(["Sales", "Headcount"]),
    }


def _dlp_policy(rng: random.Random) -> list[dict]:
    value = f"4111{rng.randint(10**11, 10**12 - 1)}"
    return [
        {
            "PolicyId": _guid(rng),
            "PolicyName": "PCI data",
            "Rules": [
                {
                    "RuleId": _guid(rng),
                    "RuleName": "Credit card - external",
                    "Severity": rng.choice(["High", "Medium", "Low"]),
                    "RuleMode": "Enable",
                    "Actions": ["BlockAccess", "NotifyUser"],
                    "ActionParameters": [],
                    "ConditionsMatched": {
                        "SensitiveInformation": [
                            {
                                "SensitiveType": "50842eb7-edc8-4019-85dd-5a5c1f2bb085",
                                "Confidence": rng.choice([75, 85, 95]),
                                "Count": 1,
                                "UniqueCount": 1,
                                "Location": "Message Body",
                                "SensitiveInformationDetections": {
                                    "DetectedValues": [
                                        {"Value": value, "Context": f"…card {value} exp…"}
                                    ],
                                    "ResultsTruncated": False,
                                },
                            }
                        ],
                        "OtherConditions": [{"Name": "AccessScope", "Value": "NotInOrganization"}],
                    },
                }
            ],
        }
    ]


def dlp_sharepoint(rng: random.Random, people: Population, at: datetime) -> dict:
    """DLP match in SharePoint/OneDrive (RecordType 11)."""
    site, name = rng.choice(FILES)
    return {
        "RecordType": 11,
        "Workload": "SharePoint",
        "UserType": 4,
        "Operation": "DLPRuleMatch",
        "UserId": "DlpAgent",
        "UserKey": "DlpAgent",
        "IncidentId": _guid(rng),
        "ObjectId": f"https://{people.domain.split('.')[0]}.sharepoint.com/sites/{site}/{name}",
        "SensitiveInfoDetectionIsIncluded": True,
        "SharePointMetaData": {
            "From": people.user(rng),
            "FileName": name,
            "SiteCollectionUrl": f"https://{people.domain.split('.')[0]}.sharepoint.com/sites/{site}",
        },
        "PolicyDetails": _dlp_policy(rng),
    }


def dlp_exchange(rng: random.Random, people: Population, at: datetime) -> dict:
    """DLP match in Exchange (RecordType 13)."""
    message_id = f"<{rng.getrandbits(64):X}@{people.domain}>"
    return {
        "RecordType": 13,
        "Workload": "Exchange",
        "UserType": 4,
        "Operation": "DlpRuleMatch",
        "UserId": "DlpAgent",
        "UserKey": "DlpAgent",
        "ObjectId": message_id,
        "IncidentId": _guid(rng),
        "SensitiveInfoDetectionIsIncluded": True,
        "ExchangeMetaData": {
            "MessageID": message_id,
            "From": people.user(rng),
            "To": ["buyer@example.org"],
            "CC": [],
            "BCC": [],
            "Subject": "card details",
            "RecipientCount": 1,
            "Sent": at.strftime("%Y-%m-%dT%H:%M:%S"),
        },
        "PolicyDetails": _dlp_policy(rng),
    }


RecordBuilder = Callable[[random.Random, Population, datetime], dict]

BUILDERS_BY_CONTENT_TYPE: dict[str, tuple[tuple[RecordBuilder, int], ...]] = {
    "Audit.AzureActiveDirectory": ((sign_in, 8), (directory_change, 1)),
    "Audit.Exchange": ((exchange_admin, 1), (mailbox_item, 4), (mail_items_accessed, 4)),
    "Audit.SharePoint": ((file_operation, 8), (sharing_operation, 1)),
    "Audit.General": ((teams_activity, 3), (power_bi_activity, 1)),
    "DLP.All": ((dlp_sharepoint, 1), (dlp_exchange, 1)),
}
