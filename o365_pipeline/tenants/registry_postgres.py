"""The tenant registry kept in PostgreSQL, for deployments spread over several machines: the
CLI on one machine registers a tenant and the code locations on every other serve it at once,
with no shared volume.

One row per entry, in the order added, holding the same fields as the file's JSON (never a
secret: an entry names the variable or file of its credential). A change runs in one
transaction holding an exclusive table lock, so two `tenants add` on two machines both land
and readers never see half a change; readers are not blocked by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from o365_pipeline.storage.postgres import DatabaseUrl, SharedConnection
from o365_pipeline.tenants.registry import (
    RegisteredTenant,
    RegistryError,
    TenantRegistryBase,
    stored_form,
)

TABLE = "o365_tenant_registry"
# Creating the table twice at once fails in PostgreSQL even with IF NOT EXISTS; one
# transaction-scoped advisory lock (an arbitrary constant of this project) serializes it.
SCHEMA_LOCK = 0x0365_7E4A
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    position integer PRIMARY KEY,
    name text NOT NULL UNIQUE,
    tenant_id text NOT NULL UNIQUE,
    entry jsonb NOT NULL
)
"""


class PostgresTenantRegistry(TenantRegistryBase):
    """Read and change the registry table in the database at `url`."""

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self._database = SharedConnection(url)

    @property
    def location(self) -> str:
        """The database (without its password)."""
        return f"the registry table of {self.url.redacted}"

    def exists(self) -> bool:
        """Whether any tenant was ever registered here (the table is made by the first)."""
        return self._database.run(_table_exists)

    def tenants(self) -> tuple[RegisteredTenant, ...]:
        """Every registered tenant, in the order added."""
        rows = self._database.run(_entries)
        try:
            return tuple(RegisteredTenant(**_as_dict(entry)) for entry in rows)
        except (ValueError, KeyError, TypeError) as error:
            raise RegistryError(
                f"The tenant registry in {self.url.redacted} holds an unreadable entry "
                f"({error}). Fix or delete that row of {TABLE}; `o365-pipeline tenants list` "
                "shows what it holds once it parses."
            ) from None

    def close(self) -> None:
        """Release the connection."""
        self._database.close()

    @contextmanager
    def _locked(self) -> Iterator[list[RegisteredTenant]]:
        with self._database.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cursor.execute(SCHEMA)
            cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
            entries = [RegisteredTenant(**_as_dict(entry)) for entry in _entries(cursor)]
            yield entries
            cursor.execute(f"DELETE FROM {TABLE}")
            for position, entry in enumerate(entries):
                cursor.execute(
                    f"INSERT INTO {TABLE} (position, name, tenant_id, entry) "
                    "VALUES (%s, %s, %s, %s)",
                    (position, entry.name, entry.tenant_id, json.dumps(stored_form(entry))),
                )


def _table_exists(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,))
    return bool(cursor.fetchone()[0])


def _entries(cursor) -> list[object]:
    if not _table_exists(cursor):
        return []
    cursor.execute(f"SELECT entry FROM {TABLE} ORDER BY position")
    return [row[0] for row in cursor.fetchall()]


def _as_dict(entry: object) -> dict:
    """psycopg2 decodes jsonb into Python objects; a row edited by hand may hold anything."""
    if not isinstance(entry, dict):
        raise TypeError(f"an entry must be a JSON object, not {type(entry).__name__}")
    return entry
