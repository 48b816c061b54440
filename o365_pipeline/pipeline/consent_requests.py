"""The open admin-consent request of each customer, kept beside the tenant registry until its
answer is read, so `o365-pipeline consent-complete` can check a redirect URL pasted back hours
later (a vendor's web app received it, or the local listener had stopped waiting).

One small JSON file per customer in `.consent/` (owner-only: its `state` is what authenticates
the answer), replaced atomically by each new request and removed once consent is recorded.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from o365_pipeline.pipeline.admin_consent import ConsentRequest
from o365_pipeline.storage.atomic import publish, temporary_path_for
from o365_pipeline.tenants.registry import RegistryError


class ConsentRequests:
    """The open consent requests of a deployment, one per customer name."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def beside(cls, registry_file: Path) -> ConsentRequests:
        """The requests of the deployment whose registry is `registry_file`."""
        return cls(Path(registry_file).parent / ".consent")

    def save(self, request: ConsentRequest) -> None:
        """Keep `request` as the customer's open one (replacing an older one)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(request.customer)
        temporary = temporary_path_for(path)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(asdict(request), handle)
        publish(temporary, path)

    def load(self, customer: str) -> ConsentRequest:
        """The customer's open request.

        Raises:
            RegistryError: none is open (never asked, or already completed).

        """
        try:
            return ConsentRequest(**json.loads(self._path(customer).read_text()))
        except FileNotFoundError:
            raise RegistryError(
                f"No admin-consent request is open for {customer!r}: start one with "
                f"`o365-pipeline onboard {customer} <tenant-id> --no-listen --redirect-uri URI` "
                "(or without --no-listen to receive the answer here)."
            ) from None
        except (ValueError, TypeError) as error:
            raise RegistryError(
                f"The consent request file {self._path(customer)} is not readable ({error}): "
                f"start a new request with `o365-pipeline onboard {customer} <tenant-id>`."
            ) from None

    def discard(self, customer: str) -> None:
        """Forget the customer's open request (its answer was recorded)."""
        self._path(customer).unlink(missing_ok=True)

    def _path(self, customer: str) -> Path:
        return self.folder / f"{customer}.json"
