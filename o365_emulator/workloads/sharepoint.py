"""SharePoint and OneDrive records (Audit.SharePoint): file operations (6) and sharing (14)."""

from __future__ import annotations

import random
from datetime import datetime

from o365_emulator.workloads.population import (
    FILES,
    USER_AGENTS,
    Population,
    guid,
)


def file_operation(rng: random.Random, people: Population, at: datetime) -> dict:
    """SharePoint/OneDrive file operation (RecordType 6)."""
    site, name = rng.choice(FILES)
    site_url = f"{people.sharepoint_host}/sites/{site}/"
    person = people.person(rng)
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
        "UserId": person.upn,
        "UserKey": f"i:0h.f|membership|{person.puid.lower()}@live.com",
        "ClientIP": people.client_ip(rng, person),
        "ObjectId": f"{site_url}Shared Documents/{name}",
        "CorrelationId": guid(rng),
        "EventSource": "SharePoint",
        "ItemType": "File",
        "ListId": guid(rng),
        "ListItemUniqueId": guid(rng),
        "Site": guid(rng),
        "WebId": guid(rng),
        "UserAgent": rng.choice(USER_AGENTS),
        "SiteUrl": site_url,
        "SourceRelativeUrl": "Shared Documents",
        "SourceFileName": name,
        "SourceFileExtension": name.rsplit(".", 1)[1],
    }


def sharing_operation(rng: random.Random, people: Population, at: datetime) -> dict:
    """SharePoint sharing (RecordType 14): links and invitations."""
    site, name = rng.choice(FILES)
    site_url = f"{people.sharepoint_host}/sites/{site}/"
    person = people.person(rng)
    return {
        "RecordType": 14,
        "Workload": "SharePoint",
        "UserType": 0,
        "Operation": rng.choice(["SharingSet", "AnonymousLinkCreated", "SharingInvitationCreated"]),
        "UserId": person.upn,
        "UserKey": f"i:0h.f|membership|{person.puid.lower()}@live.com",
        "ClientIP": people.client_ip(rng, person),
        "ObjectId": f"{site_url}Shared Documents/{name}",
        "EventSource": "SharePoint",
        "ItemType": "File",
        "SiteUrl": site_url,
        "SourceFileName": name,
        "TargetUserOrGroupName": rng.choice(
            ["partner@example.org", "Limited Access System Group", "guest@example.net"]
        ),
        "TargetUserOrGroupType": rng.choice(["Guest", "Member", "SharePointGroup"]),
        "UniqueSharingId": guid(rng),
    }
