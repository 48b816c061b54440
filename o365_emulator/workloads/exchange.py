"""Exchange records (Audit.Exchange): admin cmdlets (1), mailbox items (2) and
MailItemsAccessed (50).
"""

from __future__ import annotations

import random
from datetime import datetime

from o365_emulator.workloads.population import (
    Population,
    guid,
)


def exchange_admin(rng: random.Random, people: Population, at: datetime) -> dict:
    """Exchange admin cmdlet (RecordType 1): ObjectId is the target, Parameters list."""
    actor, owner = people.person(rng), people.user(rng)
    admin = actor.upn
    cmdlet = rng.choice(["New-InboxRule", "Set-Mailbox", "Add-MailboxPermission", "Set-InboxRule"])
    return {
        "RecordType": 1,
        "Workload": "Exchange",
        "UserType": 2,
        "Operation": cmdlet,
        "ResultStatus": rng.choice(["True", "True", "False"]),
        "UserId": admin,
        "UserKey": actor.puid,
        "ClientIP": people.client_ip(rng, actor),
        "ObjectId": f"{people.domain}\\{owner.split('@')[0]}\\Rule {rng.randint(1, 9)}",
        "ExternalAccess": False,
        "OrganizationName": people.domain,
        "OriginatingServer": f"AM0PR06MB{rng.randint(1000, 9999)} (15.20.8293.000)",
        "Parameters": _everyday_parameters(rng, cmdlet, owner, people.user(rng)),
        "SessionId": guid(rng),
    }


def _everyday_parameters(rng: random.Random, cmdlet: str, owner: str, colleague: str) -> list:
    """Parameters of an everyday cmdlet: rules that file mail or forward it to a colleague,
    mailbox forwarding inside the organization, delegation. Never a forward outside it (that is
    a planted attack pattern, `attacks.external_mail_forwarding`).
    """
    if cmdlet == "Set-Mailbox":
        return [
            {"Name": "Identity", "Value": owner},
            {"Name": "ForwardingSmtpAddress", "Value": f"smtp:{colleague}"},
            {"Name": "DeliverToMailboxAndForward", "Value": "True"},
        ]
    if cmdlet == "Add-MailboxPermission":
        return [
            {"Name": "Identity", "Value": owner},
            {"Name": "User", "Value": colleague},
            {"Name": "AccessRights", "Value": "FullAccess"},
        ]
    action = (
        {"Name": "ForwardTo", "Value": colleague}
        if rng.random() < 0.5
        else {"Name": "MoveToFolder", "Value": "Newsletters"}
    )
    return [
        {"Name": "Identity", "Value": owner},
        action,
        {"Name": "StopProcessingRules", "Value": "True"},
    ]


def mailbox_item(rng: random.Random, people: Population, at: datetime) -> dict:
    """Mailbox item operation (RecordType 2) with the Item touched."""
    person = people.person(rng)
    owner = person.upn
    ip = people.client_ip(rng, person)
    return {
        "RecordType": 2,
        "Workload": "Exchange",
        "UserType": 0,
        "Operation": rng.choice(["Update", "MoveToDeletedItems", "SoftDelete", "Send"]),
        "ResultStatus": "Succeeded",
        "UserId": owner,
        "UserKey": person.puid,
        "ClientIP": ip,
        "ClientIPAddress": ip,
        "ClientInfoString": "Client=OWA;Action=ViaProxy",
        "ExternalAccess": False,
        "InternalLogonType": 0,
        "LogonType": 0,
        "MailboxGuid": person.object_id,
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
    person = people.person(rng)
    owner = person.upn
    count = rng.randint(1, 30)
    return {
        "RecordType": 50,
        "Workload": "Exchange",
        "UserType": 0,
        "Operation": "MailItemsAccessed",
        "ResultStatus": "Succeeded",
        "UserId": owner,
        "UserKey": person.puid,
        "ClientIP": people.client_ip(rng, person),
        "MailboxGuid": person.object_id,
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
