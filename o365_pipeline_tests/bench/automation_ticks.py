"""The schedule's and the sensors' ticks on the seeded deployment, timed.

Two views of the hourly schedule's tick:
- its evaluation (what the code server computes: `evaluate_tick` on a schedule context with
  the instance), in this process;
- the daemon's whole tick (`launch_scheduled_runs`, the scheduler daemon's own iteration): the
  code server evaluates it over gRPC, then the daemon creates every requested run in the
  instance (queued, as the default run coordinator does; nothing is executed). This is what
  "the schedule ticks" costs a deployment, and it grows with the runs a tick requests.
The sensors are evaluated in this process with the deployment's resources.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.daemon import SchedulerDaemon  # noqa: F401 - imported first: import cycle
from dagster._scheduler.scheduler import launch_scheduled_runs

from o365_pipeline.definitions import build_definitions
from o365_pipeline_tests.bench.seeded_instance import ScaleDeployment

SCHEDULE = "hourly_audit_ingest"
SENSORS = ("tenant_registry_sync", "late_blob_relist", "webhook_notifications")


def latest_tick(now: datetime, minute: int) -> datetime:
    """The newest time at or before `now` that the hourly cron `minute * * * *` fires."""
    tick = now.astimezone(UTC).replace(minute=minute, second=0, microsecond=0)
    return tick if tick <= now else tick - timedelta(hours=1)


def evaluations(deployment: ScaleDeployment, *, repeats: int, now: datetime) -> dict:
    """Wall seconds of `repeats` evaluations of the schedule and of each sensor."""
    definitions = build_definitions(deployment.settings())
    schedule = definitions.resolve_schedule_def(SCHEDULE)
    tick = latest_tick(now, int(schedule.cron_schedule.split()[0]))
    results: dict[str, dict] = {}
    with dg.DagsterInstance.from_config(str(deployment.dagster_home)) as instance:
        rounds = []
        for _ in range(repeats):
            context = dg.build_schedule_context(
                instance=instance,
                scheduled_execution_time=tick,
                repository_def=definitions.get_repository_def(),
            )
            began = time.perf_counter()
            requests = list(schedule.evaluate_tick(context).run_requests or [])
            rounds.append(time.perf_counter() - began)
        results[f"schedule {SCHEDULE} (evaluation)"] = _summary(rounds, run_requests=len(requests))
        for name in SENSORS:
            sensor = definitions.resolve_sensor_def(name)
            rounds = []
            for _ in range(repeats):
                context = dg.build_sensor_context(
                    instance=instance, resources=definitions.resources
                )
                began = time.perf_counter()
                data = sensor.evaluate_tick(context)
                rounds.append(time.perf_counter() - began)
            results[f"sensor {name} (evaluation)"] = _summary(
                rounds, run_requests=len(data.run_requests or [])
            )
    return results


def daemon_ticks(
    deployment: ScaleDeployment, workspace: Path, *, repeats: int, now: datetime
) -> dict:
    """Wall seconds of the scheduler daemon's tick of the hourly schedule, `repeats` times,
    each on an earlier hour's tick time (so each requests new run keys), oldest first.
    """
    logger = logging.getLogger("bench.scheduler")
    with (
        dg.DagsterInstance.from_config(str(deployment.dagster_home)) as instance,
        WorkspaceProcessContext(
            instance, WorkspaceFileTarget([str(workspace)])
        ) as workspace_context,
    ):
        location = workspace_context.create_request_context().get_code_location("o365_pipeline")
        (repository,) = location.get_repositories().values()
        schedule = repository.get_schedule(SCHEDULE)
        newest = latest_tick(now, int(schedule.cron_schedule.split()[0]))
        rounds, runs = [], []
        for back in range(repeats - 1, -1, -1):
            tick = newest - timedelta(hours=back)
            _schedule_running_since(instance, schedule, tick - timedelta(minutes=1))
            before = instance.get_runs_count()
            began = time.perf_counter()
            list(
                launch_scheduled_runs(
                    workspace_context,
                    logger,
                    end_datetime_utc=tick + timedelta(seconds=30),
                    iteration_times={},
                )
            )
            rounds.append(time.perf_counter() - began)
            runs.append(instance.get_runs_count() - before)
        states = instance.get_ticks(schedule.get_remote_origin_id(), schedule.selector_id)
        failed = [str(state.error.message)[:200] for state in states if state.error]
    return {
        f"schedule {SCHEDULE} (daemon tick)": _summary(rounds, runs_created=runs, errors=failed)
    }


def _schedule_running_since(instance: dg.DagsterInstance, schedule, started: datetime) -> None:
    """Mark the schedule running from `started`, so the daemon's next tick is the one after."""
    state = InstigatorState(
        schedule.get_remote_origin(),
        InstigatorType.SCHEDULE,
        InstigatorStatus.RUNNING,
        ScheduleInstigatorData(schedule.cron_schedule, start_timestamp=started.timestamp()),
    )
    if instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id):
        instance.update_instigator_state(state)
    else:
        instance.add_instigator_state(state)


def _summary(rounds: list[float], **facts: object) -> dict:
    return {"seconds": [round(value, 3) for value in rounds], **facts}
