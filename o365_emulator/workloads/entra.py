"""Entra ID records (Audit.AzureActiveDirectory): sign-ins (15) and directory changes (8)."""

from __future__ import annotations

import random
from datetime import datetime

from o365_emulator.workloads.population import (
    HOSTILE_IPV4,
    USER_AGENTS,
    Population,
    guid,
)

# (AADSTS error number, LogonError) pairs seen on failed STS logons.
SIGN_IN_FAILURES = (
    ("50126", "InvalidUserNameOrPassword"),
    ("50126", "InvalidUserNameOrPassword"),
    ("50053", "IdsLocked"),
    ("50074", "UserStrongAuthClientAuthNRequired"),
    ("50057", "UserAccountDisabled"),
)
# (client application id, resource id) of everyday sign-ins: Office web, Outlook, Teams.
SIGN_IN_APPLICATIONS = (
    ("89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", "00000003-0000-0ff1-ce00-000000000000"),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "00000002-0000-0ff1-ce00-000000000000"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "00000003-0000-0000-c000-000000000000"),
)


def sign_in(rng: random.Random, people: Population, at: datetime) -> dict:
    """Entra STS logon (RecordType 15): UserLoggedIn, or UserLoginFailed with an AADSTS error."""
    failed = rng.random() < people.sign_in_failure_chance
    failure = rng.choice(SIGN_IN_FAILURES) if failed else None
    application_id, resource_id = rng.choice(SIGN_IN_APPLICATIONS)
    person = people.person(rng)
    # Failures mostly come from a few hostile addresses (a spray); successes from home.
    hostile = failed and rng.random() < 0.7
    ip = rng.choice(HOSTILE_IPV4) if hostile else people.client_ip(rng, person)
    user = person.upn
    return {
        "RecordType": 15,
        "Workload": "AzureActiveDirectory",
        "UserType": 0,
        "Operation": "UserLoginFailed" if failed else "UserLoggedIn",
        "ResultStatus": "Success" if not failed else "Failed",
        "UserId": user,
        "UserKey": person.object_id,
        "ClientIP": ip,
        "ActorIpAddress": ip,
        "ObjectId": resource_id,
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
        "Actor": [{"ID": person.object_id, "Type": 0}, {"ID": user, "Type": 5}],
        "ActorContextId": people.tenant_id,
        "InterSystemsId": guid(rng),
        "IntraSystemId": guid(rng),
        "SupportTicketId": "",
        "Target": [{"ID": resource_id, "Type": 0}],
        "TargetContextId": people.tenant_id,
        "ApplicationId": application_id,
        "DeviceProperties": [
            {"Name": "OS", "Value": rng.choice(["Windows10", "MacOs", "Ios"])},
            {"Name": "BrowserType", "Value": rng.choice(["Chrome", "Edge"])},
            {"Name": "SessionId", "Value": guid(rng)},
        ],
        "ErrorNumber": failure[0] if failure else "0",
        **({"LogonError": failure[1]} if failure else {}),
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
    actor = people.person(rng)
    admin, target = actor.upn, people.user(rng)
    return {
        "RecordType": 8,
        "Workload": "AzureActiveDirectory",
        "UserType": 0,
        "Operation": operation,
        "ResultStatus": "Success",
        "UserId": admin,
        "UserKey": actor.object_id,
        "ClientIP": people.client_ip(rng, actor),
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
