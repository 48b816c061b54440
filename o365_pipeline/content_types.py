"""The one table of the Management Activity API's five content types.

Assets, checks, DuckDB views, the emulator's synthetic tenants and the Parquet layout are all
generated from `CONTENT_TYPES`; nothing else in the project spells out the five names.
"""

from __future__ import annotations

from dataclasses import dataclass

from o365_pipeline.errors import PipelineError


@dataclass(frozen=True)
class ContentType:
    """One content type of the Activity API.

    Attributes:
        name: the API's exact spelling, used in `contentType=` and in Parquet paths.
        slug: a lowercase identifier for asset keys and DuckDB view names.
        wire_slug: the lowercase form the live service puts inside contentIds
            (`…$audit_exchange$Audit_Exchange$na0017`).
        record_types: the RecordType values that typically land in this content type (the
            emulator generates these; real data may carry others, which pass through).
        needs_dlp_permission: DLP.All's sensitive-data matches need ActivityFeed.ReadDlp.
        description: one line for the Dagster UI.
        health_services: the Microsoft Graph service-health `service` names whose issues can
            explain a late or incomplete hour of this content type; () = every service (DLP
            events come from all workloads). Names as "List healthOverviews" shows them; Entra
            ID is documented there as "Identity Service" and has since been shown as
            "Microsoft Entra", so both are listed.

    """

    name: str
    slug: str
    wire_slug: str
    record_types: tuple[int, ...]
    needs_dlp_permission: bool
    description: str
    health_services: tuple[str, ...] = ()


CONTENT_TYPES: tuple[ContentType, ...] = (
    ContentType(
        name="Audit.AzureActiveDirectory",
        slug="audit_azure_active_directory",
        wire_slug="audit_azureactivedirectory",
        record_types=(8, 15),
        needs_dlp_permission=False,
        description="Entra ID directory changes and sign-ins (RecordType 8, 15).",
        health_services=("Identity Service", "Microsoft Entra"),
    ),
    ContentType(
        name="Audit.Exchange",
        slug="audit_exchange",
        wire_slug="audit_exchange",
        record_types=(1, 2, 50),
        needs_dlp_permission=False,
        description="Exchange admin cmdlets and mailbox access (RecordType 1, 2, 50).",
        health_services=("Exchange Online",),
    ),
    ContentType(
        name="Audit.SharePoint",
        slug="audit_sharepoint",
        wire_slug="audit_sharepoint",
        record_types=(6, 14),
        needs_dlp_permission=False,
        description="SharePoint and OneDrive file and sharing operations (RecordType 6, 14).",
        health_services=("SharePoint Online", "OneDrive for Business"),
    ),
    ContentType(
        name="Audit.General",
        slug="audit_general",
        wire_slug="audit_general",
        record_types=(25, 20),
        needs_dlp_permission=False,
        description="Every other workload: Teams, Power BI, Copilot, … (RecordType 25, 20).",
        health_services=("Microsoft Teams", "Microsoft 365 suite"),
    ),
    ContentType(
        name="DLP.All",
        slug="dlp_all",
        wire_slug="dlp_all",
        record_types=(11, 13),
        needs_dlp_permission=True,
        description="Data loss prevention matches of all workloads (RecordType 11, 13).",
    ),
)

_BY_NAME = {content_type.name.lower(): content_type for content_type in CONTENT_TYPES}


class UnknownContentTypeError(PipelineError, ValueError):
    """A content type name that the Management Activity API does not serve."""


def content_type_named(name: str) -> ContentType:
    """Return the content type with this API name (case-insensitive, as the service matches).

    Raises:
        UnknownContentTypeError: the name is not one of the five, with the valid names listed.

    """
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        valid = ", ".join(content_type.name for content_type in CONTENT_TYPES)
        raise UnknownContentTypeError(
            f"Unknown content type {name!r}. The Management Activity API serves exactly: {valid}."
        ) from None
