"""With every logger at DEBUG (ours, Dagster's, msal's, urllib3's), a full run through the
faults that produce the most diagnostics leaves the client secret and every bearer token out
of every log line, every event and metadata value, every error, and every file under data/."""

import logging
from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.fault_rules import make_rule
from o365_pipeline.config import load_settings
from o365_pipeline.defs.assets import SUBSCRIPTIONS_KEY
from o365_pipeline.defs.partitions import partition_key_for, sync_tenant_partitions
from o365_pipeline.tenants.directory import directory_for
from o365_pipeline_tests.emulator_access import point_environment_at

TENANT_ID = "3c9d2b7e-55aa-4c1f-9e0b-8f2d6a1c4e77"
SECRET = "s3cr3t~Value.That-Must-Never_Leak"
DEBUG_RUN = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


def test_no_secret_or_token_in_logs_metadata_errors_or_files(tmp_path, monkeypatch, capfd):
    handler = _Everything()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    config = EmulatorConfig(tenants=(TENANT_ID,), client_secret=SECRET, records_per_hour=30)
    try:
        with start_emulator(config) as api:
            point_environment_at(
                monkeypatch, api, tenant_id=TENANT_ID, secret=SECRET, data_dir=tmp_path
            )
            # Every blob stays malformed below: give up after 3 attempts, not after minutes.
            monkeypatch.setenv("O365_MAX_RETRY_ATTEMPTS", "3")
            from o365_pipeline.definitions import (
                INGEST_JOB_NAME,
                build_definitions,
            )

            defs = build_definitions()
            window = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
                hours=2
            )
            events = []
            with dg.DagsterInstance.ephemeral() as instance:
                sync_tenant_partitions(instance, directory_for(load_settings()).all())
                runs = [
                    defs.resolve_implicit_global_asset_job_def().execute_in_process(
                        asset_selection=[SUBSCRIPTIONS_KEY], instance=instance, run_config=DEBUG_RUN
                    )
                ]
                # Faults that make the client log, retry and renew its token.
                api.add_faults(
                    make_rule("expire_token", count=1, after=2),
                    make_rule("server_error", count=2),
                    make_rule("throttle", count=1, retry_after=0),
                    make_rule("invalid_json", count="all", target="blob", after=3),
                )
                runs.append(
                    defs.resolve_job_def(INGEST_JOB_NAME).execute_in_process(
                        partition_key=partition_key_for("acme", window),
                        instance=instance,
                        run_config=DEBUG_RUN,
                        raise_on_error=False,
                    )
                )
                for run in runs:
                    records = instance.get_records_for_run(run.run_id, limit=100_000).records
                    events += [repr(record.event_log_entry) for record in records]
            tokens = set(api.bearer_tokens_seen)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    captured = capfd.readouterr()

    assert tokens, "the run should have used bearer tokens"
    assert not runs[1].success, "a blob that stays malformed must fail the run loudly"
    failure_text = " ".join(event for event in events if "STEP_FAILURE" in event)
    assert "could not be fetched" in failure_text
    assert any(line.startswith("urllib3") for line in handler.lines)
    assert any(line.startswith("msal") for line in handler.lines)
    haystacks = {
        "log lines": "\n".join(handler.lines),
        "events and metadata": "\n".join(events),
        "stdout/stderr": captured.out + captured.err,
    }
    for secret in (SECRET, *tokens):
        for where, text in haystacks.items():
            assert secret not in text, f"a secret appeared in {where}"
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"a secret appeared in {path}"
    assert len(handler.lines) > 50, "DEBUG logging should have produced plenty of lines"
