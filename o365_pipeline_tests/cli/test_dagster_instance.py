"""DAGSTER_HOME/dagster.yaml as the CLI writes it: SQLite files on one machine; with
O365_POSTGRES_URL, Dagster's storage in PostgreSQL, the URL read from the environment by
Dagster itself so that no password lands in the file."""

from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from o365_pipeline.cli.dagster_instance import open_instance
from o365_pipeline.config import ConfigurationError, load_settings


def test_without_a_database_the_instance_keeps_its_files_here(tmp_path, monkeypatch):
    monkeypatch.delenv("O365_POSTGRES_URL", raising=False)
    settings = load_settings(data_dir=tmp_path, dagster_home=tmp_path / "home", postgres_url=None)
    with open_instance(settings) as instance:
        assert not isinstance(instance.run_storage, PostgresRunStorage)
    assert "postgres" not in (tmp_path / "home" / "dagster.yaml").read_text()


def test_two_machines_on_one_database_share_runs_and_the_yaml_holds_no_secret(
    postgres_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("O365_POSTGRES_URL", postgres_url)
    # trust authentication ignores the password: it stands for one that must not leak
    monkeypatch.setenv("O365_POSTGRES_PASSWORD", "not-a-real-password")
    machines = [
        load_settings(data_dir=tmp_path / name, dagster_home=tmp_path / name / "home")
        for name in ("a", "b")
    ]
    with open_instance(machines[0]) as first:
        assert isinstance(first.run_storage, PostgresRunStorage)
        assert isinstance(first.event_log_storage, PostgresEventLogStorage)
        first.report_runless_asset_event(
            dg.AssetMaterialization("written_on_a", metadata={"at": str(datetime.now(UTC))})
        )
    with open_instance(machines[1]) as second:
        assert second.get_latest_materialization_event(dg.AssetKey("written_on_a")) is not None
    for machine in machines:
        text = (machine.instance_home / "dagster.yaml").read_text()
        assert "env: O365_POSTGRES_PASSWORD" in text and "postgresql+psycopg2" in text
        assert "not-a-real-password" not in text


def test_an_existing_yaml_without_postgres_is_refused_with_the_fix(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    url = "postgresql://u@127.0.0.1:9/none"
    settings = load_settings(
        data_dir=tmp_path, dagster_home=home, postgres_url=url, postgres_password="pw-value"
    )
    with pytest.raises(ConfigurationError, match="127.0.0.1:9/none.*delete the file") as caught:
        open_instance(settings)
    assert "pw-value" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("postgres://u@db/o365", "postgresql://"),
        ("postgresql://u:hunter2@db/o365", "O365_POSTGRES_PASSWORD"),
        ("postgresql://u@db", "a database"),
    ],
)
def test_a_url_dagster_cannot_use_or_holding_a_password_is_refused(monkeypatch, url, fix):
    monkeypatch.setenv("O365_POSTGRES_URL", url)
    with pytest.raises(ConfigurationError, match=f"O365_POSTGRES_URL.*{fix}") as caught:
        load_settings()
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)
