"""The deployment's Dagster instance: `DAGSTER_HOME/dagster.yaml`, written by the CLI when the
folder has none, and the instance opened from it.

On one machine the instance keeps runs, event logs and schedules in SQLite files in that
folder. With `O365_POSTGRES_URL` set they go to PostgreSQL (`dagster-postgres`'s `postgres_db`
block), so the daemon, the UI and the runs on several machines (or Kubernetes pods) see one
history. The password is never written: the file names `O365_POSTGRES_PASSWORD` with Dagster's
`env:` syntax and each process reads it from its own environment (or a Kubernetes Secret). The
driver is named (`postgresql+psycopg2`): SQLAlchemy 2.1 maps a bare `postgresql` to psycopg 3,
which `dagster-postgres` does not install.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import dagster as dg
import yaml

from o365_pipeline.config import ConfigurationError, Settings
from o365_pipeline.storage.atomic import publish, temporary_path_for

# Telemetry off; the client's retry and wait lines (Python `logging`) in the run's event log.
DAGSTER_YAML = (
    "telemetry:\n  enabled: false\npython_logs:\n  managed_python_loggers:\n    - o365_pipeline\n"
)


def postgres_db_config(settings: Settings) -> dict:
    """Dagster's `postgres_db` block for O365_POSTGRES_URL (its password by reference)."""
    parts = urlsplit(settings.postgres_url or "")
    config: dict = {
        "username": unquote(parts.username or ""),
        "hostname": parts.hostname,
        "port": parts.port or 5432,
        "db_name": unquote(parts.path.lstrip("/")),
        "scheme": "postgresql+psycopg2",
    }
    if parts.query:
        config["params"] = dict(parse_qsl(parts.query))
    if settings.postgres_password is not None:
        config["password"] = {"env": "O365_POSTGRES_PASSWORD"}
    return config


def instance_yaml(settings: Settings) -> str:
    """The `dagster.yaml` this deployment's settings call for."""
    if settings.postgres_url is None:
        return DAGSTER_YAML
    storage = {"storage": {"postgres": {"postgres_db": postgres_db_config(settings)}}}
    return DAGSTER_YAML + yaml.safe_dump(storage, sort_keys=False)


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The deployment's persistent Dagster instance (the one `dagster dev` shows), created
    with telemetry off (and on Postgres when configured) when its folder has no
    `dagster.yaml` yet.

    Raises:
        ConfigurationError: O365_POSTGRES_URL is set but an existing `dagster.yaml` keeps
            Dagster's storage elsewhere (runs would silently stay apart from the others').

    """
    home = settings.instance_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        temporary = temporary_path_for(config)
        temporary.write_text(instance_yaml(settings))
        publish(temporary, config)
    elif settings.postgres_url is not None:
        _check_same_database(config, settings)
    return dg.DagsterInstance.from_config(str(home))


def _check_same_database(config_file, settings: Settings) -> None:
    try:
        written = yaml.safe_load(config_file.read_text()) or {}
        storage = written.get("storage", {}).get("postgres", {}).get("postgres_db", {})
    except (yaml.YAMLError, AttributeError):
        storage = {}
    wanted = postgres_db_config(settings)
    keys = ("hostname", "port", "db_name", "username")
    if any(str(storage.get(key)) != str(wanted[key]) for key in keys):
        raise ConfigurationError(
            f"O365_POSTGRES_URL names {wanted['hostname']}:{wanted['port']}/{wanted['db_name']} "
            f"but {config_file} keeps Dagster's runs elsewhere: delete the file to have it "
            "written again, or make its `storage: postgres: postgres_db:` block name that "
            "database."
        )
