"""The root of every error this project raises on purpose.

Each one carries a message that names the problem and the fix, so a command line prints it as
one line and a Dagster step shows it as is; `retriable` says whether running the same thing
again later can succeed (throttling, a host down, a blob not yet fetchable) or whether
something must change first (a setting, a permission, the tenant's configuration). Each
subclass also keeps the built-in type it has always been (ValueError, FileNotFoundError …), so
callers that catch those keep working.
"""

from __future__ import annotations


class PipelineError(Exception):
    """An explained failure; `retriable` when a later retry can succeed unchanged."""

    retriable: bool = False
