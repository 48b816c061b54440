"""Turn the core's typed errors into Dagster failures whose description is the whole story:
what happened, the API code, and the fix (and never a secret: the messages are built so).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from o365_pipeline.api.errors import ManagementApiError, RetentionWindowError
from o365_pipeline.pipeline.audit_table import IncompleteWindowError
from o365_pipeline.storage.object_store import ObjectStoreError
from o365_pipeline.tenants.registry import RegistryError


@contextmanager
def reported_as_failure() -> Iterator[None]:
    """Re-raise API and completeness errors as `dg.Failure` with a readable description.

    A window past the 7-day retention can never succeed, so it is not retried.
    """
    try:
        yield
    except RetentionWindowError as error:
        raise dg.Failure(
            description=str(error), allow_retries=False, metadata={"error_code": error.code or ""}
        ) from error
    except ManagementApiError as error:
        raise dg.Failure(
            description=str(error), metadata={"error_code": error.code or ""}
        ) from error
    except ObjectStoreError as error:
        raise dg.Failure(description=str(error)) from error
    except RegistryError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    except IncompleteWindowError as error:
        raise dg.Failure(
            description=str(error),
            metadata={
                "failed_blobs": dg.MetadataValue.json(
                    [outcome.content_id for outcome in error.failures]
                ),
            },
        ) from error
