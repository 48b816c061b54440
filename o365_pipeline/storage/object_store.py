"""Publishing landed files to object storage (s3://, abfs://, gs://…) through fsspec, and
reading them back with DuckDB.

Each file is first committed locally (hidden temporary + atomic rename, as always), then
uploaded whole under the same relative key. An object PUT is atomic, so readers of the bucket
see the previous object or the new one, never a partial file; a run that dies between the two
steps leaves the previous object, and the next run uploads again. The local folder is a
working copy: a step that finds a file of an earlier step missing locally (it ran on another
machine or pod) fetches the published copy first, so `data/` may be ephemeral; analysts query
the bucket.

Credentials are never configuration here: fsspec's backends read the standard environment
(AWS_ACCESS_KEY_ID …, AZURE_STORAGE_…, GOOGLE_APPLICATION_CREDENTIALS); `options` carries only
non-secret settings such as an `endpoint_url`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb

from o365_pipeline.errors import PipelineError


class ObjectStoreError(PipelineError, RuntimeError):
    """The object store cannot be used as configured (the message names the URL and the fix)."""


class ObjectStore:
    """One bucket prefix, e.g. `s3://audit-lake/o365`."""

    def __init__(self, url: str, options: dict | None = None) -> None:
        import fsspec

        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **(options or {}))
        except (ImportError, ValueError) as error:
            raise ObjectStoreError(
                f"Cannot open {self.url}: {error}. Install the backend (pip install "
                "'o365-pipeline[s3]' for s3://) and check O365_OBJECT_STORE_OPTIONS."
            ) from None
        self.protocol = self.url.split("://", 1)[0]

    @classmethod
    def from_settings(cls, url: str | None, options_json: str | None) -> ObjectStore | None:
        """The store configured by `O365_OBJECT_STORE` / `O365_OBJECT_STORE_OPTIONS`, if any."""
        if not url:
            return None
        try:
            options = json.loads(options_json) if options_json else {}
        except ValueError as error:
            raise ObjectStoreError(
                f"O365_OBJECT_STORE_OPTIONS is not JSON ({error.msg}); give e.g. "
                '{"client_kwargs": {"endpoint_url": "https://…"}}.'
            ) from None
        return cls(url, options)

    def key_url(self, relative: str) -> str:
        """The full URL of a relative key."""
        return f"{self.url}/{relative}"

    def publish(self, data_root: Path, files: Iterable[Path]) -> list[str]:
        """Upload committed local files under the same path relative to `data_root`."""
        uploaded = []
        for path in files:
            if not path.exists():
                continue
            relative = path.resolve().relative_to(Path(data_root).resolve()).as_posix()
            self.fs.put_file(str(path), f"{self.root}/{relative}")
            uploaded.append(self.key_url(relative))
        return uploaded

    def fetch_missing(self, data_root: Path, files: Iterable[Path]) -> list[Path]:
        """Download the published copy of each file that is missing locally (a step running
        on another machine or pod than the one before it); the files fetched.
        """
        fetched = []
        for path in files:
            if path.exists():
                continue
            relative = path.resolve().relative_to(Path(data_root).resolve()).as_posix()
            remote = f"{self.root}/{relative}"
            if not self.fs.exists(remote):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.fetch.tmp")
            self.fs.get_file(remote, str(temporary))
            temporary.replace(path)
            fetched.append(path)
        return fetched

    def register(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read this store's URLs through fsspec (no DuckDB extension needed)."""
        connection.register_filesystem(self.fs)
