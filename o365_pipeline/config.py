"""The one typed configuration: every `O365_*` setting, its default and its check, and the only
code in the package that reads the process environment.

Values come from the environment, then from a `.env` file in the working folder, then from the
defaults below. Secrets are `SecretStr`, so they never show in a repr, a log line or an error.
A deployment is **local** (no `O365_CLIENT_ID`: the emulator is started on demand and serves
the demo tenants) or **real** (the shared app registration's id and secret or certificate; the
cloud's hosts, or explicit base URLs and a CA bundle). `.env.example` is generated from this
model (`python -m o365_pipeline.config > .env.example`), and a test keeps the two equal.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from o365_pipeline.errors import PipelineError

CloudName = Literal["commercial", "gcc", "gcc_high", "dod", "china"]
# The first day of the hourly partitions: fixed, so history never drops off the UI at midnight.
DEFAULT_PARTITION_START = "2026-11-01"


class ConfigurationError(PipelineError, ValueError):
    """A setting that cannot be used; the message names the variable and the fix."""


class Settings(BaseSettings):
    """Every setting of a deployment (environment variable = `O365_` + the field name, upper)."""

    model_config = SettingsConfigDict(
        env_prefix="O365_", env_file=".env", extra="ignore", populate_by_name=True
    )

    tenant_id: str | None = Field(
        None, description="One organization's Entra tenant GUID (else the registry, or the demo)."
    )
    tenant_name: str = Field(
        "tenant", description="Its short customer name: lowercase letters, digits, '-', '_'."
    )
    client_id: str | None = Field(
        None,
        description="Application (client) id of the shared app registration; "
        "unset = the local emulator and its demo tenants.",
    )
    client_secret: SecretStr | None = Field(
        None, description="That app's client secret value (never logged)."
    )
    client_certificate_file: Path | None = Field(
        None, description="Or: PEM file with that app's certificate private key."
    )
    client_certificate_thumbprint: str | None = Field(
        None, description="SHA-1 thumbprint (hex) of that certificate."
    )
    cloud: CloudName = Field(
        "commercial", description="commercial | gcc | gcc_high | dod | china (hosts and scope)."
    )
    publisher_id: str | None = Field(
        None, description="PublisherIdentifier (your own tenant GUID); default each tenant's id."
    )
    api_base_url: str | None = Field(
        None, description="Override the cloud's API host (e.g. a standalone emulator)."
    )
    login_base_url: str | None = Field(None, description="Override the cloud's login host.")
    graph_base_url: str | None = Field(
        None, description="Override the cloud's Microsoft Graph host (service health)."
    )
    ca_bundle: Path | None = Field(
        None, description="PEM bundle of the CAs that sign both hosts; default the system's."
    )
    data_dir: Path = Field(
        Path("data"), description="Where Parquet, listings, the ledger and the registry live."
    )
    tenants_file: Path | None = Field(
        None, description="Tenant registry file; default <data_dir>/tenants.json."
    )
    partition_start: str = Field(
        DEFAULT_PARTITION_START,
        description="First day (UTC, YYYY-MM-DD) of the hourly partitions; keep it fixed.",
    )
    schedule_lag_minutes: int = Field(
        15, ge=0, le=59, description="Minutes past the hour at which the schedule ticks."
    )
    schedule_windows: int = Field(
        2, ge=1, le=24, description="Settled windows re-listed per schedule tick."
    )
    relist_hours: int = Field(24, ge=1, le=168, description="Hours the late-blob sensor re-lists.")
    daily_settle_hours: int = Field(
        26,
        ge=1,
        le=168,
        description="Hours after a UTC day ends before it is compacted into a daily table "
        "(the late-blob re-list horizon plus the runs it requests).",
    )
    freshness_hours: float = Field(
        6.0, gt=0, description="Newest content older than this warns (freshness check)."
    )
    rate_limit_per_minute: float = Field(
        1800, ge=0, description="Requests per minute per tenant and publisher; 0 = no limit."
    )
    read_timeout_seconds: float = Field(
        120.0, gt=0, description="Seconds to wait for a connection, or between bytes of an answer."
    )
    request_deadline_seconds: float = Field(
        600.0, gt=0, description="Seconds one request may take, connect to last byte."
    )
    window_deadline_seconds: float = Field(
        3600.0,
        gt=0,
        description="Seconds listing one window may take (all pages, retries, waits); the same "
        "again for fetching its blobs.",
    )
    max_pages_per_window: int = Field(
        2000, ge=1, description="Listing pages one window may take before it counts as a loop."
    )
    max_retry_attempts: int = Field(
        8, ge=1, description="Attempts per request (a positive Retry-After does not count)."
    )
    max_retry_wait_seconds: float = Field(
        900.0, gt=0, description="Seconds of retry waits one request may add up to."
    )
    object_store: str | None = Field(
        None, description="Also publish every committed file here (s3://bucket/prefix, …)."
    )
    object_store_options: str | None = Field(
        None, description='Non-secret fsspec options as JSON, e.g. {"client_kwargs": {…}}.'
    )
    emulator_records_per_hour: int = Field(
        40, ge=0, description="Local emulator only: records per tenant, content type and hour."
    )
    postgres_url: str | None = Field(
        None,
        description="postgresql://user@host:port/database shared by every machine: Dagster's "
        "runs, the tenant registry, the request budget; unset = files here.",
    )
    postgres_password: SecretStr | None = Field(
        None, description="That database user's password (never written to dagster.yaml)."
    )
    webhook_address: str | None = Field(
        None,
        description="Opt-in push: the public https:// address Microsoft POSTs notifications to "
        "(`webhook serve` behind it); unset = polling only.",
    )
    webhook_auth_id: SecretStr | None = Field(
        None,
        description="Sent back as Webhook-AuthID with every notification; the receiver refuses "
        "others (16+ characters, never logged).",
    )
    webhook_listen_host: str = Field(
        "127.0.0.1", description="Address `webhook serve` binds (0.0.0.0 = every interface)."
    )
    webhook_listen_port: int = Field(
        8444, ge=0, le=65535, description="Port `webhook serve` listens on (0 = any free port)."
    )
    webhook_cert_file: Path | None = Field(
        None, description="PEM certificate chain `webhook serve` presents (HTTPS only)."
    )
    webhook_key_file: Path | None = Field(None, description="PEM private key of that certificate.")
    dagster_home: Path | None = Field(
        None,
        validation_alias="DAGSTER_HOME",
        description="Dagster's instance folder (DAGSTER_HOME); default <data_dir>/dagster_home.",
    )

    @field_validator(
        "tenant_id",
        "client_id",
        "publisher_id",
        "api_base_url",
        "login_base_url",
        "graph_base_url",
        "object_store",
        "object_store_options",
        "client_certificate_thumbprint",
        "webhook_address",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`O365_API_BASE_URL=` in a `.env` means "not set", as in `.env.example`."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "client_secret",
        "postgres_url",
        "postgres_password",
        "ca_bundle",
        "client_certificate_file",
        "tenants_file",
        "dagster_home",
        "webhook_auth_id",
        "webhook_cert_file",
        "webhook_key_file",
        mode="before",
    )
    @classmethod
    def _blank_path_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("partition_start")
    @classmethod
    def _is_a_day(cls, value: str) -> str:
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise ValueError("use a UTC day as YYYY-MM-DD, e.g. 2026-11-01") from None
        return value

    @field_validator("postgres_url")
    @classmethod
    def _is_a_postgres_url(cls, value: str | None) -> str | None:
        """The form both libpq and SQLAlchemy take (`postgresql://…`, not `postgres://`). The
        URL is written into dagster.yaml, so a password in it is refused, and the message
        never repeats the value.
        """
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme != "postgresql" or not parts.hostname or len(parts.path) < 2:
            raise ValueError(
                "use a URL of the form postgresql://user@host:5432/database "
                "(scheme postgresql://, a host and a database)"
            )
        if parts.password is not None:
            raise ValueError(
                "move the password out of the URL into O365_POSTGRES_PASSWORD (the URL is "
                "written into dagster.yaml; the password only ever comes from the environment)"
            )
        return value

    @field_validator("webhook_address")
    @classmethod
    def _is_an_https_address(cls, value: str | None) -> str | None:
        """The API refuses a webhook that is not HTTPS (AF20021), so say it before a start."""
        if value is not None and not value.lower().startswith("https://"):
            raise ValueError("use an https:// address (the API only notifies HTTPS webhooks)")
        return value

    @field_validator("webhook_auth_id")
    @classmethod
    def _is_a_long_auth_id(cls, value: SecretStr | None) -> SecretStr | None:
        """The authId is the receiver's only proof a POST comes from Microsoft: no short ones.
        The message never repeats the value.
        """
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError(
                "use at least 16 characters, e.g. the output of "
                "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        """A webhook address needs the authId the receiver will check."""
        if self.webhook_address and self.webhook_auth_id is None:
            raise ValueError(
                "O365_WEBHOOK_ADDRESS is set without O365_WEBHOOK_AUTH_ID: set the authId the "
                "receiver checks on every notification"
            )
        return self

    @model_validator(mode="after")
    def _credentials_complete(self) -> Settings:
        """A real deployment needs a secret or a certificate for its app id, and both halves
        of a certificate; say which variable is missing rather than failing at the first call.
        """
        if self.client_id is None:
            return self
        if self.client_certificate_file and not self.client_certificate_thumbprint:
            raise ValueError(
                "O365_CLIENT_CERTIFICATE_FILE is set without O365_CLIENT_CERTIFICATE_THUMBPRINT: "
                "set the certificate's SHA-1 thumbprint too"
            )
        if self.client_secret is None and self.client_certificate_file is None:
            raise ValueError(
                "O365_CLIENT_ID is set but O365_CLIENT_SECRET is not: set the app "
                "registration's client secret value (or O365_CLIENT_CERTIFICATE_FILE and "
                "O365_CLIENT_CERTIFICATE_THUMBPRINT), or unset O365_CLIENT_ID to use the "
                "local emulator"
            )
        return self

    @property
    def is_local(self) -> bool:
        """Whether this deployment targets the local emulator (no app registration set)."""
        return self.client_id is None

    @property
    def partition_start_time(self) -> datetime:
        """`partition_start` as an aware UTC midnight."""
        return datetime.strptime(self.partition_start, "%Y-%m-%d").replace(tzinfo=UTC)

    @property
    def resolved_data_dir(self) -> Path:
        """The data folder as an absolute path (every process of a deployment agrees on it)."""
        return self.data_dir.expanduser().resolve()

    @property
    def registry_file(self) -> Path:
        """The tenant registry file."""
        return self.tenants_file or self.resolved_data_dir / "tenants.json"

    @property
    def instance_home(self) -> Path:
        """Dagster's instance folder: DAGSTER_HOME, else the data folder's own."""
        return (self.dagster_home or self.resolved_data_dir / "dagster_home").resolve()


def load_settings(**overrides: object) -> Settings:
    """The settings of this process (environment, `.env`, defaults; `overrides` win).

    Raises:
        ConfigurationError: one line per bad variable, naming it and the fix.

    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(_describe(error)) from None


def secret_from_environment(variable: str) -> SecretStr | None:
    """The value of a tenant's own secret variable (the registry names it, never holds it)."""
    value = os.environ.get(variable, "")
    return SecretStr(value) if value else None


def desktop_display_available() -> bool:
    """Whether this session has a graphical display (X11 or Wayland) a browser can open on."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        variable = "DAGSTER_HOME" if field == "dagster_home" else f"O365_{field.upper()}"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(message if not field else f"{variable}: {message}")
    return "Invalid configuration: " + "; ".join(lines) + "."


def env_example() -> str:
    """The text of `.env.example`, one commented variable per setting, from the model."""
    lines = [
        "# Every setting of o365-pipeline (generated: python -m o365_pipeline.config).",
        "# Copy to .env (git-ignored); leave O365_CLIENT_ID unset for the local emulator.",
    ]
    for name, field in Settings.model_fields.items():
        variable = field.validation_alias or f"O365_{name.upper()}"
        default = field.default
        shown = "" if default is None else str(default)
        # Dagster reads `.env` into its own environment too: a blank DAGSTER_HOME would break it.
        assignment = f"{variable}={shown}"
        if field.validation_alias:
            assignment = "# " + assignment
        lines += [f"# {field.description}", assignment]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(env_example())


def prefer_system_allocator_for_arrow() -> None:
    """Make Arrow allocate with the system allocator in this process, unless
    `ARROW_DEFAULT_MEMORY_POOL` says otherwise (set before Arrow allocates anything, so the
    package does it on import).

    Why: Arrow's default here (mimalloc) keeps a heap per thread and holds what it freed; a run
    lands many windows at once on many fetch threads, and on the benchmark's backfill that held
    the process at 620–720 MB against about 420 MB with the system allocator, at the same CPU
    time.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
