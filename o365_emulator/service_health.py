"""Deterministic service health per tenant: the issues, health overviews and update messages
that Microsoft Graph's service communications API shows, as a pure function of (seed, tenant,
time), so nothing is stored and a test can ask what is visible at any moment.

Issues follow the lifecycle Microsoft documents for `serviceHealthStatus` ("serviceHealthIssue
resource type", https://learn.microsoft.com/graph/api/resources/servicehealthissue): a first
post while `investigating`, updates while the service is degraded or interrupted and being
restored, then `serviceRestored` (the issue is resolved and gets its `endDateTime`), and for
incidents a `postIncidentReviewPublished` post two days later. Every post moves
`lastModifiedDateTime`, so an issue updated after a client's last query shows up again in a
query filtered on `lastModifiedDateTime ge …`.

The schedule: each of four workloads has three issues per week, the i-th starting 56·i hours
into the week plus a seeded 0–40 hours, so consecutive starts of one workload are never more
than 96 hours apart: any 96-hour stretch holds the start of an Exchange Online issue (the
overlap tests rely on this). Visible are the issues whose first post has happened and whose
impact began within the last `HISTORY` (30 days: the emulator's choice, Microsoft documents no
figure).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

HISTORY = timedelta(days=30)
WEEK = timedelta(days=7)
ISSUES_PER_WEEK = 3
SPACING = timedelta(hours=56)
MAX_JITTER_HOURS = 40
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
RESOLVED = ("serviceRestored", "postIncidentReviewPublished", "falsePositive")
MESSAGES_PER_WEEK = 2


@dataclass(frozen=True)
class Workload:
    """One service as Graph names it (`service`, and the `id` of its health overview)."""

    service: str
    service_id: str
    issue_prefix: str
    features: tuple[tuple[str, str], ...]  # (featureGroup, feature)


# Service names and ids as "List healthOverviews" shows them
# (https://learn.microsoft.com/graph/api/serviceannouncement-list-healthoverviews); Entra ID
# is documented there as "Identity Service" (id OrgLiveID).
WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "Exchange Online",
        "Exchange",
        "EX",
        (
            ("E-Mail timely delivery", "Mailflow - delayed delivery from Internet"),
            ("E-Mail and calendar access", "Outlook on the web"),
            ("Management and Provisioning", "Tenant Administration"),
        ),
    ),
    Workload(
        "SharePoint Online",
        "SharePoint",
        "SP",
        (
            ("SharePoint Features", "Search"),
            ("SharePoint Features", "Sharing"),
            ("Files", "File sync"),
        ),
    ),
    Workload(
        "Identity Service",
        "OrgLiveID",
        "ID",
        (
            ("Authentication", "Sign-in"),
            ("Administration", "Directory administration"),
            ("Authentication", "Multi-factor authentication"),
        ),
    ),
    Workload(
        "Microsoft Teams",
        "microsoftteams",
        "TM",
        (
            ("Teams Components", "Chat (messaging)"),
            ("Teams Components", "Meetings"),
            ("Teams Components", "Calling"),
        ),
    ),
)
# Shown in the overviews, never with an issue of its own here.
SUITE = Workload("Microsoft 365 suite", "OSDPPlatform", "MO", ())


@dataclass(frozen=True)
class PlannedPost:
    """One post of an issue: when it appears and the status it sets."""

    at: datetime
    status: str
    text: str


@dataclass(frozen=True)
class PlannedIssue:
    """An issue's whole life, decided up front: what it shows at any moment follows."""

    tenant: str
    workload: Workload
    issue_id: str
    title: str
    impact: str
    classification: str
    feature_group: str
    feature: str
    start: datetime
    posts: tuple[PlannedPost, ...]

    @property
    def changes(self) -> tuple[datetime, ...]:
        """Every moment its `lastModifiedDateTime` moves (one per post)."""
        return tuple(post.at for post in self.posts)

    def visible_at(self, at: datetime) -> bool:
        """Whether the API lists it at `at`: first post made, impact within the history."""
        return self.posts[0].at <= at and self.start >= at - HISTORY

    def end_at(self, at: datetime) -> datetime | None:
        """When the impact ended, once the issue is resolved by `at`."""
        for post in self.posts:
            if post.at <= at and post.status in RESOLVED:
                return post.at.replace(second=0, microsecond=0)
        return None

    def as_resource(self, at: datetime) -> dict:
        """The `serviceHealthIssue` resource as it reads at `at`."""
        posts = [post for post in self.posts if post.at <= at]
        status = posts[-1].status
        end = self.end_at(at)
        return {
            "startDateTime": graph_time(self.start),
            "endDateTime": graph_time(end) if end else None,
            "lastModifiedDateTime": graph_time(posts[-1].at),
            "title": self.title,
            "id": self.issue_id,
            "impactDescription": self.impact,
            "classification": self.classification,
            "origin": "microsoft",
            "status": status,
            "service": self.workload.service,
            "feature": self.feature,
            "featureGroup": self.feature_group,
            "isResolved": status in RESOLVED,
            "details": [{"name": "NotifyInApp", "value": "True"}],
            "posts": [
                {
                    "createdDateTime": graph_time(post.at),
                    "postType": "regular",
                    "description": {"contentType": "html", "content": post.text},
                }
                for post in posts
            ],
        }


def graph_time(moment: datetime) -> str:
    """An ISO 8601 UTC time as Graph writes it (milliseconds only when there are any)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


class ServiceHealthTimeline:
    """The service health of every tenant the emulator plays, at any moment."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed

    def issues_at(self, tenant: str, at: datetime) -> list[PlannedIssue]:
        """The issues listed at `at`, newest start first."""
        issues = [issue for issue in self._around(tenant, at) if issue.visible_at(at)]
        return sorted(issues, key=lambda issue: (issue.start, issue.issue_id), reverse=True)

    def planned(self, tenant: str, start: datetime, end: datetime) -> list[PlannedIssue]:
        """Every issue whose impact starts in [start, end), visible yet or not (tests use it
        to pick a moment when an issue is open, or is about to change).
        """
        issues = []
        week = _week_of(start)
        while EPOCH + week * WEEK < end:
            for workload in WORKLOADS:
                issues += [
                    issue
                    for issue in _week_plan(self._seed, tenant.lower(), workload, week)
                    if start <= issue.start < end
                ]
            week += 1
        return sorted(issues, key=lambda issue: issue.start)

    def overviews_at(self, tenant: str, at: datetime) -> list[dict]:
        """One `serviceHealth` per workload: the status of its newest open issue, if any."""
        open_issues = [issue for issue in self.issues_at(tenant, at) if issue.end_at(at) is None]
        overviews = []
        for workload in (*WORKLOADS, SUITE):
            current = [issue for issue in open_issues if issue.workload == workload]
            status = current[0].as_resource(at)["status"] if current else "serviceOperational"
            overviews.append(
                {"service": workload.service, "status": status, "id": workload.service_id}
            )
        return overviews

    def messages_at(self, tenant: str, at: datetime) -> list[dict]:
        """The `serviceUpdateMessage`s published by `at` within the history, newest first."""
        messages = []
        week = _week_of(at - HISTORY)
        while EPOCH + week * WEEK <= at:
            messages += [
                message
                for published, message in _week_messages(self._seed, tenant.lower(), week)
                if at - HISTORY <= published <= at
            ]
            week += 1
        return sorted(messages, key=lambda item: (item["startDateTime"], item["id"]), reverse=True)

    def _around(self, tenant: str, at: datetime) -> list[PlannedIssue]:
        return self.planned(tenant, at - HISTORY, at + timedelta(seconds=1))


def _week_of(moment: datetime) -> int:
    return int((moment - EPOCH) // WEEK)


def _random(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@lru_cache(maxsize=4096)
def _week_plan(seed: int, tenant: str, workload: Workload, week: int) -> tuple[PlannedIssue, ...]:
    return tuple(
        _plan_issue(seed, tenant, workload, week, index) for index in range(ISSUES_PER_WEEK)
    )


def _plan_issue(seed: int, tenant: str, workload: Workload, week: int, index: int) -> PlannedIssue:
    rng = _random(seed, tenant, workload.service, week, index)
    start = EPOCH + week * WEEK + index * SPACING
    start += timedelta(minutes=rng.randrange(MAX_JITTER_HOURS * 60))
    incident = rng.random() < 0.6
    group, feature = rng.choice(workload.features)
    at = start + timedelta(minutes=rng.randrange(10, 40), milliseconds=rng.randrange(1, 1000))
    posts = [PlannedPost(at, "investigating", f"We're investigating a problem with {feature}.")]
    impact = "serviceInterruption" if incident and rng.random() < 0.4 else "serviceDegradation"
    for status in [impact] * rng.randrange(1, 3) + ["restoringService"]:
        at += timedelta(minutes=rng.randrange(30, 150), milliseconds=rng.randrange(1, 1000))
        posts.append(PlannedPost(at, status, f"Current status: {status} for {feature}."))
    at += timedelta(minutes=rng.randrange(30, 150), milliseconds=rng.randrange(1, 1000))
    resolution = "falsePositive" if rng.random() < 0.1 else "serviceRestored"
    posts.append(PlannedPost(at, resolution, f"Final status: {resolution}."))
    if incident and resolution == "serviceRestored":
        review = at + timedelta(days=2, minutes=rng.randrange(0, 600))
        posts.append(PlannedPost(review, "postIncidentReviewPublished", "A review is available."))
    number = 100000 + rng.randrange(900000)
    return PlannedIssue(
        tenant=tenant,
        workload=workload,
        issue_id=f"{workload.issue_prefix}{number}",
        title=f"Some users may be affected by a problem with {feature}",
        impact=f"Users may be unable to use {feature} in {workload.service}.",
        classification="incident" if incident else "advisory",
        feature_group=group,
        feature=feature,
        start=start,
        posts=tuple(posts),
    )


@lru_cache(maxsize=1024)
def _week_messages(seed: int, tenant: str, week: int) -> tuple[tuple[datetime, dict], ...]:
    messages = []
    for index in range(MESSAGES_PER_WEEK):
        rng = _random(seed, tenant, "message", week, index)
        published = EPOCH + week * WEEK + timedelta(minutes=rng.randrange(7 * 24 * 60))
        workload = rng.choice(WORKLOADS)
        number = 100000 + rng.randrange(900000)
        messages.append(
            (
                published,
                {
                    "startDateTime": graph_time(published),
                    "endDateTime": graph_time(published + timedelta(days=30)),
                    "lastModifiedDateTime": graph_time(published),
                    "title": f"Plan for change: an update to {workload.service}",
                    "id": f"MC{number}",
                    "category": rng.choice(("planForChange", "stayInformed", "preventOrFixIssue")),
                    "severity": rng.choice(("normal", "normal", "high")),
                    "tags": ["Updated message"],
                    "isMajorChange": rng.random() < 0.2,
                    "actionRequiredByDateTime": None,
                    "services": [workload.service],
                    "body": {"contentType": "html", "content": "<p>What is changing.</p>"},
                    "details": [],
                    "hasAttachments": False,
                    "viewPoint": None,
                },
            )
        )
    return tuple(messages)
