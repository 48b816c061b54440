"""The Microsoft clouds: one setting selects the login host, the API host and the token
resource together (peers break by mixing them, e.g. a GCC High API host with a commercial
token), and Microsoft Graph's host for the service communications API ("Microsoft Graph
national cloud deployments", https://learn.microsoft.com/graph/deployments: GCC keeps the
worldwide graph.microsoft.com; a Graph token of one cloud is not valid in another).
"""

from __future__ import annotations

from dataclasses import dataclass

from o365_pipeline.errors import PipelineError


@dataclass(frozen=True)
class Cloud:
    """Hosts and token resource of one Microsoft cloud."""

    name: str
    api_host: str
    login_host: str
    resource: str
    graph_host: str

    @property
    def scope(self) -> str:
        """Client-credentials scope: the resource with `/.default` (anything else is refused)."""
        return f"{self.resource}/.default"

    @property
    def api_base_url(self) -> str:
        """Scheme and host of the Activity API."""
        return f"https://{self.api_host}"

    @property
    def graph_base_url(self) -> str:
        """Scheme and host of Microsoft Graph (its resource, too)."""
        return f"https://{self.graph_host}"

    @property
    def graph_scope(self) -> str:
        """Client-credentials scope for Microsoft Graph in this cloud."""
        return f"{self.graph_base_url}/.default"

    @property
    def login_base_url(self) -> str:
        """Scheme and host of the Entra token service."""
        return f"https://{self.login_host}"


CLOUDS: dict[str, Cloud] = {
    cloud.name: cloud
    for cloud in (
        Cloud(
            "commercial",
            "manage.office.com",
            "login.microsoftonline.com",
            "https://manage.office.com",
            "graph.microsoft.com",
        ),
        Cloud(
            "gcc",
            "manage-gcc.office.com",
            "login.microsoftonline.com",
            "https://manage-gcc.office.com",
            "graph.microsoft.com",
        ),
        Cloud(
            "gcc_high",
            "manage.office365.us",
            "login.microsoftonline.us",
            "https://manage.office365.us",
            "graph.microsoft.us",
        ),
        Cloud(
            "dod",
            "manage.protection.apps.mil",
            "login.microsoftonline.us",
            "https://manage.protection.apps.mil",
            "dod-graph.microsoft.us",
        ),
        # 21Vianet: not in Microsoft's reference; best public evidence: "Microsoft 365 national
        # cloud endpoints".
        Cloud(
            "china",
            "manage.office365.cn",
            "login.partner.microsoftonline.cn",
            "https://manage.office365.cn",
            "microsoftgraph.chinacloudapi.cn",
        ),
    )
}


class UnknownCloudError(PipelineError, ValueError):
    """A cloud name that is not in the table."""


def cloud_named(name: str) -> Cloud:
    """The cloud called `name` (case-insensitive; `-` and `_` alike)."""
    key = name.strip().lower().replace("-", "_")
    if key not in CLOUDS:
        raise UnknownCloudError(
            f"Unknown cloud {name!r}: use one of {', '.join(CLOUDS)} (O365_CLOUD)."
        )
    return CLOUDS[key]
