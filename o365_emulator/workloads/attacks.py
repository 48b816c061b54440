"""Records of well-known attack patterns, each a small set of events that one of the pipeline's
detections looks for (values invented; shapes as the everyday builders make them).

Every builder takes a seeded `random.Random`, the tenant's `Population`, the time of the first
event and the instance number, and returns an `AttackDraft`: who it is about and its records,
each with its own event time. `o365_emulator.planted_patterns` decides where and when they go.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from o365_emulator.workloads.dlp import dlp_exchange
from o365_emulator.workloads.entra import directory_change, sign_in
from o365_emulator.workloads.exchange import exchange_admin
from o365_emulator.workloads.population import HOSTILE_IPV4, Person, Population, guid
from o365_emulator.workloads.sharepoint import file_operation

# Address ranges no internet user ever signs in from: RFC 2544 benchmarking (198.18.0.0/15)
# and RFC 6598 shared address space (100.64.0.0/10), each prefix its own /16.
FAR_AWAY_RANGES = ("198.18", "198.19", "100.64", "100.88", "100.112")
# Built-in Entra roles with their documented template ids ("Microsoft Entra built-in roles").
ADMIN_ROLES = (
    ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10"),
    ("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814"),
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"),
    ("Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d"),
)
CONSENTED_APPS = ("Mail Sorter Pro", "PDF Converter Online", "Calendar Sync Helper")
# An outside mail domain (RFC 2606 reserves `.example`).
EXTERNAL_MAIL_DOMAIN = "inbox-relay.example"
FAILED_SIGN_INS = 8
DOWNLOADED_FILES = 12
DLP_MATCHED_ITEMS = 25


@dataclass(frozen=True)
class AttackRecord:
    """One event: its time and the workload fields (RecordType, Operation, … as a builder
    returns them).
    """

    at: datetime
    body: dict


@dataclass(frozen=True)
class AttackDraft:
    """One instance of a pattern: the account and address it is about, and its events."""

    user: str
    ip: str | None
    records: tuple[AttackRecord, ...]


def failed_sign_ins_then_success(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """A password guessed: eight failed sign-ins 90 s apart from one hostile address, then a
    success from it.
    """
    victim, ip = people.person(rng), rng.choice(HOSTILE_IPV4)
    records = [
        _sign_in_as(rng, people, start + timedelta(seconds=90 * i), victim, ip, failed=True)
        for i in range(FAILED_SIGN_INS)
    ]
    success_at = start + timedelta(seconds=90 * FAILED_SIGN_INS)
    records.append(_sign_in_as(rng, people, success_at, victim, ip, failed=False))
    return AttackDraft(victim.upn, ip, tuple(records))


def sign_ins_from_many_ranges(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """One account signing in from its home address and five far-away ranges in 20 minutes."""
    victim = people.person(rng)
    addresses = [victim.home_ip] + [
        f"{prefix}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for prefix in FAR_AWAY_RANGES
    ]
    records = [
        _sign_in_as(rng, people, start + timedelta(minutes=4 * i), victim, address, failed=False)
        for i, address in enumerate(addresses)
    ]
    return AttackDraft(victim.upn, addresses[-1], tuple(records))


def admin_role_granted(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """`Add member to role.` with an administrator role, in the Entra audit shape (the role in
    ModifiedProperties `Role.DisplayName` / `Role.TemplateId`).
    """
    body = directory_change(rng, people, start)
    target = _other_than(rng, people, body["UserId"])
    role, template_id = rng.choice(ADMIN_ROLES)
    body.update(
        Operation="Add member to role.",
        ObjectId=target.upn,
        ExtendedProperties=[
            {"Name": "additionalDetails", "Value": "{}"},
            {"Name": "extendedAuditEventCategory", "Value": "Role"},
        ],
        ModifiedProperties=[
            {"Name": "Role.ObjectID", "NewValue": guid(rng), "OldValue": ""},
            {"Name": "Role.DisplayName", "NewValue": role, "OldValue": ""},
            {"Name": "Role.TemplateId", "NewValue": template_id, "OldValue": ""},
        ],
        Target=[
            {"ID": f"User_{target.object_id}", "Type": 2},
            {"ID": target.object_id, "Type": 2},
            {"ID": "User", "Type": 2},
            {"ID": target.upn, "Type": 5},
        ],
    )
    return AttackDraft(target.upn, body["ClientIP"], (AttackRecord(start, body),))


def consent_to_application(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """`Consent to application.`: a user grants an unfamiliar app mail scopes (the grant in
    ModifiedProperties `ConsentAction.Permissions`, the app in Target).
    """
    body = directory_change(rng, people, start)
    app, app_id, principal = rng.choice(CONSENTED_APPS), guid(rng), guid(rng)
    grant = (
        f"[] => [[Id: {guid(rng)}, ClientId: {principal}, PrincipalId: {body['UserKey']}, "
        f"ResourceId: {guid(rng)}, ConsentType: Principal, Scope: Mail.Read Mail.Send "
        "offline_access]]; "
    )
    body.update(
        Operation="Consent to application.",
        ObjectId=principal,
        ExtendedProperties=[
            {"Name": "additionalDetails", "Value": "{}"},
            {"Name": "extendedAuditEventCategory", "Value": "ServicePrincipal"},
        ],
        ModifiedProperties=[
            {"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
            {"Name": "ConsentContext.OnBehalfOfAll", "NewValue": "False", "OldValue": ""},
            {"Name": "ConsentAction.Permissions", "NewValue": grant, "OldValue": ""},
            {"Name": "TargetId.ServicePrincipalNames", "NewValue": app_id, "OldValue": ""},
        ],
        Target=[
            {"ID": f"ServicePrincipal_{principal}", "Type": 2},
            {"ID": principal, "Type": 2},
            {"ID": "ServicePrincipal", "Type": 2},
            {"ID": app, "Type": 1},
            {"ID": app_id, "Type": 2},
        ],
    )
    return AttackDraft(body["UserId"], body["ClientIP"], (AttackRecord(start, body),))


def external_mail_forwarding(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """Mail sent outside: an inbox rule forwarding everything (even instances) or mailbox
    forwarding with `ForwardingSmtpAddress` (odd ones), set by the mailbox's own account.
    """
    body = exchange_admin(rng, people, start)
    outside = f"{body['UserId'].split('@')[0]}.{rng.randint(10, 99)}@{EXTERNAL_MAIL_DOMAIN}"
    if instance % 2 == 0:
        operation = "New-InboxRule"
        parameters = [
            {"Name": "Name", "Value": "."},
            {"Name": "ForwardTo", "Value": outside},
            {"Name": "MarkAsRead", "Value": "True"},
            {"Name": "StopProcessingRules", "Value": "True"},
        ]
    else:
        operation = "Set-Mailbox"
        parameters = [
            {"Name": "Identity", "Value": body["UserId"]},
            {"Name": "ForwardingSmtpAddress", "Value": f"smtp:{outside}"},
            {"Name": "DeliverToMailboxAndForward", "Value": "False"},
        ]
    body.update(Operation=operation, ResultStatus="True", Parameters=parameters)
    return AttackDraft(body["UserId"], body["ClientIP"], (AttackRecord(start, body),))


def mass_file_download_or_deletion(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """One account downloading (even instances) or deleting (odd ones) twelve distinct files
    of one site within about a quarter of an hour.
    """
    person = people.person(rng)
    ip = person.home_ip
    operation = "FileDownloaded" if instance % 2 == 0 else "FileDeleted"
    records = []
    for index in range(DOWNLOADED_FILES):
        at = start + timedelta(seconds=75 * index)
        body = file_operation(rng, people, at)
        name = f"Customer export {index + 1:02d}.xlsx"
        body.update(
            Operation=operation,
            UserId=person.upn,
            UserKey=f"i:0h.f|membership|{person.puid.lower()}@live.com",
            ClientIP=ip,
            ObjectId=f"{body['SiteUrl']}Shared Documents/{name}",
            SourceFileName=name,
            SourceFileExtension="xlsx",
        )
        records.append(AttackRecord(at, body))
    return AttackDraft(person.upn, ip, tuple(records))


def high_severity_dlp_match(
    rng: random.Random, people: Population, start: datetime, instance: int
) -> AttackDraft:
    """A message leaving with 25 card numbers, matched by a High-severity DLP rule."""
    body = dlp_exchange(rng, people, start)
    sender = body["ExchangeMetaData"]["From"]
    rule = body["PolicyDetails"][0]["Rules"][0]
    rule["Severity"] = "High"
    match = rule["ConditionsMatched"]["SensitiveInformation"][0]
    values = [f"4111{rng.randint(10**11, 10**12 - 1)}" for _ in range(3)]
    match.update(Count=DLP_MATCHED_ITEMS, UniqueCount=DLP_MATCHED_ITEMS, Confidence=95)
    match["SensitiveInformationDetections"] = {
        "DetectedValues": [{"Value": value, "Context": f"…card {value} exp…"} for value in values],
        "ResultsTruncated": True,
    }
    body["ExchangeMetaData"].update(Subject="customer cards", To=["buyer@example.org"])
    return AttackDraft(sender, None, (AttackRecord(start, body),))


def _sign_in_as(
    rng: random.Random,
    people: Population,
    at: datetime,
    person: Person,
    ip: str,
    *,
    failed: bool,
) -> AttackRecord:
    """An everyday sign-in record, made `person`'s, from `ip`, failed or successful."""
    body = sign_in(rng, people, at)
    body.pop("LogonError", None)
    details = [
        {**item, "Value": "Redirect" if failed else "Success"}
        if item["Name"] == "ResultStatusDetail"
        else item
        for item in body["ExtendedProperties"]
    ]
    body.update(
        Operation="UserLoginFailed" if failed else "UserLoggedIn",
        ResultStatus="Failed" if failed else "Success",
        UserId=person.upn,
        UserKey=person.object_id,
        ClientIP=ip,
        ActorIpAddress=ip,
        Actor=[{"ID": person.object_id, "Type": 0}, {"ID": person.upn, "Type": 5}],
        ExtendedProperties=details,
        ErrorNumber="50126" if failed else "0",
    )
    if failed:
        body["LogonError"] = "InvalidUserNameOrPassword"
    return AttackRecord(at, body)


def _other_than(rng: random.Random, people: Population, upn: str) -> Person:
    """A user of the tenant other than `upn`."""
    return rng.choice([person for person in people.people if person.upn != upn])
