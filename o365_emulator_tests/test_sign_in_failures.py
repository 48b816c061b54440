"""Background failed sign-ins stay at a real tenant's rate whatever the volume served: everyday
volumes keep their failure share, a busy tenant-hour holds a handful of failures, and no user's
failures ever gather into a burst a detection would call an attack."""

from datetime import UTC, datetime, timedelta

from o365_emulator.synthetic import SyntheticTenants
from o365_emulator.workloads.population import (
    FAILED_SIGN_INS_PER_HOUR,
    SIGN_IN_FAILURE_CHANCE,
)
from o365_pipeline.content_types import content_type_named
from o365_pipeline_tests.fixtures import TENANT_ID

ENTRA = content_type_named("Audit.AzureActiveDirectory")
HOURS = [datetime(2026, 11, 25, 6, tzinfo=UTC) + timedelta(hours=n) for n in range(3)]


def _sign_ins(records_per_hour: int) -> list[dict]:
    tenants = SyntheticTenants(
        records_per_hour=records_per_hour,
        redelivery_fraction=0.0,
        seed=0,
        planted_every_hours=0,
    )
    return [
        record
        for hour in HOURS
        for blob in tenants.blobs_for_hour(TENANT_ID, ENTRA, hour)
        for record in tenants.records(blob)
        if record["Operation"] in ("UserLoggedIn", "UserLoginFailed")
    ]


def test_everyday_volumes_keep_their_share_of_failures():
    for records_per_hour in (30, 40):
        chance = (
            SyntheticTenants(records_per_hour=records_per_hour, redelivery_fraction=0.0, seed=0)
            .population(TENANT_ID)
            .sign_in_failure_chance
        )
        assert chance == SIGN_IN_FAILURE_CHANCE


def test_a_busy_tenant_hour_holds_a_handful_of_failures_and_no_burst():
    sign_ins = _sign_ins(records_per_hour=2_000)
    failed = [record for record in sign_ins if record["Operation"] == "UserLoginFailed"]
    assert len(sign_ins) > 4_000  # the volume is real: thousands of successful sign-ins
    assert 0 < len(failed) <= 3 * len(HOURS) * FAILED_SIGN_INS_PER_HOUR
    by_user: dict[str, list[datetime]] = {}
    for record in failed:
        at = datetime.strptime(record["CreationTime"], "%Y-%m-%dT%H:%M:%S")
        by_user.setdefault(record["UserId"], []).append(at)
    densest = max(
        sum(1 for other in times if timedelta(0) <= at - other <= timedelta(minutes=15))
        for times in by_user.values()
        for at in times
    )
    assert densest < 6  # the failed-sign-in detection's burst: 6 within 15 minutes
    assert len(by_user) > 1  # spread over several users, not one account's bad day
