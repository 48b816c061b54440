"""Audit.General records: Microsoft Teams (25) and Power BI (20)."""

from __future__ import annotations

import random
from datetime import datetime

from o365_emulator.workloads.population import (
    Population,
)


def teams_activity(rng: random.Random, people: Population, at: datetime) -> dict:
    """Microsoft Teams (RecordType 25)."""
    person = people.person(rng)
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
        "UserId": person.upn,
        "UserKey": person.object_id,
        "ClientIP": people.client_ip(rng, person),
        "TeamName": rng.choice(["Finance", "Project Falcon", "All Company"]),
        "TeamGuid": f"19:{rng.getrandbits(64):x}@thread.skype",
        "ChannelName": rng.choice(["General", "Planning"]),
        "Members": [{"UPN": people.user(rng), "Role": 1, "DisplayName": "Member"}],
        "CommunicationType": "Team",
        "ItemName": "General",
    }


def power_bi_activity(rng: random.Random, people: Population, at: datetime) -> dict:
    """Power BI (RecordType 20)."""
    person = people.person(rng)
    return {
        "RecordType": 20,
        "Workload": "PowerBI",
        "UserType": 0,
        "Operation": rng.choice(["ViewReport", "ExportReport", "ViewDashboard"]),
        "UserId": person.upn,
        "UserKey": person.puid,
        "ClientIP": people.client_ip(rng, person),
        "ReportName": rng.choice(["Sales", "Headcount"]),
        "WorkSpaceName": "Finance",
        "DistributionMethod": "Workspace",
        "ObjectId": rng.choice(["Sales", "Headcount"]),
    }
