"""Typed configuration of one tenant's client. Pointing at the emulator or a real tenant is a
matter of these values only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from o365_pipeline.api.clouds import Cloud, cloud_named
from o365_pipeline.tenants import validate_tenant_id

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class ClientSecret:
    """A client secret; its repr never shows the value."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "ClientSecret(***)"

    def for_msal(self) -> str:
        """The form msal's `client_credential` takes."""
        return self.value


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate credential: PEM private key and the certificate's SHA-1 thumbprint (hex),
    as msal takes it. The key is never shown.
    """

    private_key_pem: str = field(repr=False)
    thumbprint: str

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint={self.thumbprint!r}, private_key=***)"

    def for_msal(self) -> dict:
        """The form msal's `client_credential` takes."""
        return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}


@dataclass(frozen=True)
class RetryPolicy:
    """How retriable answers (429/AF429, 5xx, connection errors) are retried, and the bounds
    on every wait: nothing a server does can keep a request or a window going for ever.
    """

    max_attempts: int = 8
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    # Seconds of retry waits one request may accumulate (a long Retry-After included).
    max_total_wait_seconds: float = 900.0
    # One attempt, from connecting to the last byte of the body (a trickled body included).
    request_deadline_seconds: float = 600.0
    # Listing one window (every page, retry and wait), and again fetching its blobs.
    window_deadline_seconds: float = 3600.0
    # Listing pages one window may take: an hour's listing needs a few, so only a looping or
    # hostile listing reaches this.
    max_pages_per_window: int = 2000
    # A listed blob that answers "does not exist" is asked for again this many times in all.
    missing_blob_attempts: int = 4
    # A host that never accepted a connection (refused, unknown name, connect timeout) is
    # asked this many times in all: a wrong URL or a dead host should be named in seconds, not
    # after the minutes of backoff that a flaky but live service deserves.
    unreachable_attempts: int = 3

    def __post_init__(self) -> None:
        for name in (
            "max_attempts",
            "max_total_wait_seconds",
            "request_deadline_seconds",
            "window_deadline_seconds",
            "max_pages_per_window",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True)
class ClientSettings:
    """Everything a `ManagementApiClient` for one tenant needs."""

    tenant_id: str
    client_id: str
    credential: ClientSecret | ClientCertificate
    cloud: str = "commercial"
    api_base_url: str | None = None
    login_base_url: str | None = None
    ca_bundle: str | None = None
    publisher_id: str | None = None
    timeout_seconds: float = 120.0
    max_concurrent_fetches: int = 8
    # Requests in flight at once for this client, over all its windows and content types: the
    # size of its connection pool, so connections are reused instead of opened per request.
    max_connections: int = 32
    retry: RetryPolicy = RetryPolicy()
    # Requests per minute for this tenant and publisher, shared by every process using the
    # same folder (see rate_limit.py); None = no client-side limit.
    rate_limit_per_minute: float | None = None
    rate_limit_folder: str | None = None
    # Or in PostgreSQL, shared by every machine: its postgresql:// URL and password (never
    # shown in a repr).
    rate_limit_database_url: str | None = None
    rate_limit_database_password: str | None = field(default=None, repr=False)
    rate_limit_burst: int = 20
    # Microsoft Graph (service communications); None = the cloud's Graph host.
    graph_base_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant_id", validate_tenant_id(self.tenant_id))
        cloud_named(self.cloud)
        if not self.client_id:
            raise ValueError(
                "client_id is empty: set O365_CLIENT_ID to the app registration's "
                "application (client) id."
            )
        if isinstance(self.credential, ClientSecret) and not self.credential.value:
            raise ValueError("client secret is empty: set O365_CLIENT_SECRET.")
        if self.publisher_id is not None and self.publisher_id.strip() == ZERO_GUID:
            raise ValueError(
                "PublisherIdentifier must not be the all-zero GUID (that is the "
                "shared, throttled pool); use your own tenant GUID or leave it unset."
            )
        if self.max_concurrent_fetches < 1:
            raise ValueError("max_concurrent_fetches must be at least 1.")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1.")

    @property
    def cloud_hosts(self) -> Cloud:
        """The cloud's hosts and token resource."""
        return cloud_named(self.cloud)

    @property
    def api_base(self) -> str:
        """Scheme://host[:port] of the API (override, else the cloud's)."""
        return (self.api_base_url or self.cloud_hosts.api_base_url).rstrip("/")

    @property
    def graph_base(self) -> str:
        """Scheme://host[:port] of Microsoft Graph (override, else the cloud's)."""
        return (self.graph_base_url or self.cloud_hosts.graph_base_url).rstrip("/")

    @property
    def login_base(self) -> str:
        """Scheme://host[:port] of the token service (override, else the cloud's)."""
        return (self.login_base_url or self.cloud_hosts.login_base_url).rstrip("/")

    @property
    def publisher(self) -> str:
        """The PublisherIdentifier sent on every call (default: the tenant id)."""
        return self.publisher_id or self.tenant_id

    @property
    def verify(self) -> str | bool:
        """What `requests` should verify TLS against."""
        return self.ca_bundle or True
