"""Land a tenant's Microsoft 365 service health issues incrementally, and check the app may.

Each run asks Microsoft Graph only for the issues modified since the tenant's watermark (the
newest `lastModifiedDateTime` landed so far), minus a lookback of an hour, because an update
can become visible a little after the time it is stamped with; the overlap costs a few issues
fetched twice and is de-duplicated here. Every `@odata.nextLink` is followed (on the Graph
origin only, with a bounded page count: `api.odata_paging`). Each (tenant, issue id) is stored
once: the version with the latest `lastModifiedDateTime` wins, across runs, whatever order
pages and runs come in. The watermark is read from the landed data and stored with it, never
taken from the local clock, so a skewed clock cannot skip an update.

Plain Python (no Dagster): the asset and the doctor call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from o365_pipeline.api.errors import MalformedListingError, ManagementApiError
from o365_pipeline.api.service_communications import (
    SERVICE_HEALTH_ROLE,
    ServiceCommunicationsClient,
)
from o365_pipeline.api.settings import ClientSettings
from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError
from o365_pipeline.storage.service_health_issues import (
    issue_row,
    issues_file,
    read_issues,
    tenant_lock,
    write_issues,
)

LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True)
class ServiceHealthReport:
    """What one incremental run asked for, found and kept."""

    tenant: str
    path: Path
    since: datetime | None  # the filter sent; None = every issue (the first run)
    watermark: datetime | None  # the newest lastModifiedDateTime landed, after the run
    fetched: int
    new: int
    updated: int
    unchanged: int
    stored: int
    open_issues: int


def land_service_health(
    client: ServiceCommunicationsClient,
    data_root: Path,
    *,
    tenant: str,
    clock: Callable[[], datetime],
    lookback: timedelta = LOOKBACK,
    store: ObjectStore | None = None,
) -> ServiceHealthReport:
    """Fetch the issues modified since the watermark and merge them into the tenant's file
    (with `store`: fetched from it first when missing here, published to it after).

    Raises:
        ServiceHealthPermissionError: the app lacks ServiceHealth.Read.All (nothing changes).
        UntrustedUriError: a next page outside the Graph origin (nothing of the run is kept).
        MalformedListingError: an issue that cannot be stored (nothing of the run is kept).

    """
    path = issues_file(data_root, tenant)
    _with_store(store, "Fetching", lambda: store.fetch_missing(data_root, [path]))
    with tenant_lock(path):
        stored = read_issues(path)
        since = stored.watermark - lookback if stored.watermark else None
        fetched_at = clock()
        fetched = [_row(tenant, issue, fetched_at) for issue in client.issues_modified_since(since)]
        merged, new, updated = merge_latest(stored.rows, fetched)
        watermark = max((row["lastModifiedDateTime"] for row in merged.values()), default=None)
        if new or updated or not path.exists():
            write_issues(path, list(merged.values()), watermark)
    _with_store(store, "Publishing", lambda: store.publish(data_root, [path]))
    return ServiceHealthReport(
        tenant=tenant,
        path=path,
        since=since,
        watermark=watermark,
        fetched=len(fetched),
        new=new,
        updated=updated,
        unchanged=len({row["id"] for row in fetched}) - new - updated,
        stored=len(merged),
        open_issues=sum(1 for row in merged.values() if not row["isResolved"]),
    )


def _with_store(store: ObjectStore | None, action: str, call: Callable[[], object]) -> None:
    if store is None:
        return
    try:
        call()
    except OSError as error:
        raise ObjectStoreError(
            f"{action} the service health issues with {store.url} failed "
            f"({type(error).__name__}: {error}). The local file is intact; re-run to retry."
        ) from None


def merge_latest(stored: dict[str, dict], fetched: Iterable[dict]) -> tuple[dict, int, int]:
    """`stored` with `fetched` folded in, keeping per id the latest `lastModifiedDateTime`
    (a tie keeps the stored row); also how many ids were new and how many were replaced.
    """
    merged = dict(stored)
    changed: set[str] = set()
    for row in fetched:
        current = merged.get(row["id"])
        if current is None or row["lastModifiedDateTime"] > current["lastModifiedDateTime"]:
            merged[row["id"]] = row
            changed.add(row["id"])
    return merged, len(changed - stored.keys()), len(changed & stored.keys())


def _row(tenant: str, issue: dict, fetched_at: datetime) -> dict:
    try:
        return issue_row(tenant, issue, fetched_at)
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedListingError(
            code=None,
            http_status=200,
            api_message=f"issue {str(issue.get('id'))[:40]!r}: {type(error).__name__}: {error}",
            explanation="Microsoft Graph listed a service health issue whose times cannot be "
            "read; nothing of this run was kept.",
            fix="Run again later; if it persists, report the issue id.",
        ) from None


@dataclass(frozen=True)
class ServiceHealthAccess:
    """Whether the app can read the tenant's service health, in one line with its fix."""

    ok: bool
    detail: str
    fix: str = ""


def check_service_health_access(settings: ClientSettings) -> ServiceHealthAccess:
    """Ask Graph for a token and the health overviews, as a run would; say what is missing."""
    client = ServiceCommunicationsClient(settings)
    try:
        roles = client.granted_roles()
        if SERVICE_HEALTH_ROLE not in roles:
            return ServiceHealthAccess(
                False,
                f"the Microsoft Graph token lacks {SERVICE_HEALTH_ROLE} "
                f"(granted: {', '.join(roles) or 'none'})",
                f"Add the Microsoft Graph application permission {SERVICE_HEALTH_ROLE} (read "
                "service health) to the app registration, then have an administrator grant "
                "admin consent again (o365-pipeline consent-url).",
            )
        services = client.health_overviews()
    except ManagementApiError as error:
        return ServiceHealthAccess(False, error.explanation, error.fix)
    finally:
        client.close()
    return ServiceHealthAccess(
        True, f"{SERVICE_HEALTH_ROLE} granted; Graph lists {len(services)} service(s)"
    )
