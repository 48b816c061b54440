"""How the CLI turns a failure into one line naming the problem and the fix.

Every `PipelineError` already carries its own explanation (configuration, registry, API
errors); the network errors of `requests` do not, so the host that could not be reached and
the settings that choose it are named here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import requests

from o365_pipeline.errors import PipelineError


class NoDataError(PipelineError, RuntimeError):
    """A command pointed at a folder without landed data (a wrong folder, or nothing yet)."""


def one_line_failure(error: BaseException) -> str | None:
    """The one-line message for a failure the CLI knows, else None (a bug: let it surface)."""
    if isinstance(error, PipelineError):
        return " ".join(str(error).split())
    if isinstance(error, requests.exceptions.SSLError):
        return (
            f"TLS verification failed for {_host_of(error)}: set O365_CA_BUNDLE to the PEM "
            "bundle of the CA that signs it (or unset it to use the system trust store)."
        )
    if isinstance(error, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return (
            f"Cannot reach {_host_of(error)}: check O365_LOGIN_BASE_URL / O365_API_BASE_URL "
            "(or O365_CLOUD), the network and any proxy, then retry."
        )
    return None


def refuse_empty_data_folder(data_dir: Path) -> None:
    """Refuse a query over a folder with no landed data, instead of answering 0 rows.

    Raises:
        NoDataError: naming the folder and how to choose another.

    """
    if not any((data_dir / area).is_dir() for area in ("audit", "ledger")):
        raise NoDataError(
            f"No landed data under {data_dir}: run the command from the deployment's folder, "
            "pass --data-dir or set O365_DATA_DIR (or run `o365-pipeline demo` first)."
        )


def _host_of(error: requests.exceptions.RequestException) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    if url:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    return "the configured host"
