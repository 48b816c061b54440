"""DLP.All records: rule matches in SharePoint/OneDrive (11) and Exchange (13)."""

from __future__ import annotations

import json
import random
from datetime import datetime

from o365_emulator.workloads.population import (
    FILES,
    Population,
    guid,
)


def _dlp_policy(rng: random.Random) -> list[dict]:
    value = f"4111{rng.randint(10**11, 10**12 - 1)}"
    return [
        {
            "PolicyId": guid(rng),
            "PolicyName": "PCI data",
            "Rules": [
                {
                    "RuleId": guid(rng),
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
        "IncidentId": guid(rng),
        "ObjectId": f"{people.sharepoint_host}/sites/{site}/{name}",
        "SensitiveInfoDetectionIsIncluded": True,
        "SharePointMetaData": {
            "From": people.user(rng),
            "FileName": name,
            "SiteCollectionUrl": f"{people.sharepoint_host}/sites/{site}",
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
        "IncidentId": guid(rng),
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


def without_detections(record: dict) -> dict:
    """The record as an app without ActivityFeed.ReadDlp sees it: the policy match stays, the
    matched values go (`SensitiveInformationDetections` needs ReadDlp: "Get started with Office
    365 Management APIs" and the DLP schema in "Office 365 Management Activity API schema").
    """
    if "PolicyDetails" not in record:
        return record
    policies = json.loads(json.dumps(record["PolicyDetails"]))
    for policy in policies:
        for rule in policy.get("Rules", []):
            for match in rule.get("ConditionsMatched", {}).get("SensitiveInformation", []):
                match.pop("SensitiveInformationDetections", None)
    return {**record, "PolicyDetails": policies, "SensitiveInfoDetectionIsIncluded": False}
