"""A throwaway PostgreSQL server for the tests that need one, and a fresh database per test.

`.ci/run` starts a server and exports `TEST_POSTGRES_URL` (an administrator's URL); without it,
a session starts its own from the machine's `initdb`/`pg_ctl` (Debian's `postgresql` package)
in a temporary folder, on a free loopback port, as the `postgres` user when the session is
root (PostgreSQL refuses to run as root). With neither, the tests that need it are skipped,
saying so. Every wait is bounded by `pg_ctl -t`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

START_SECONDS = 60
STOP_SECONDS = 30
SUPERUSER = "o365"


def server_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: on PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayServer:
    """`initdb` + `pg_ctl start` in a temporary folder; `stop()` removes it all."""

    def __init__(self, binaries: Path) -> None:
        self._binaries = binaries
        self._folder = Path(tempfile.mkdtemp(prefix="o365-postgres-"))
        self._data = self._folder / "data"
        self._as = _run_as()
        self.url = ""

    def start(self) -> str:
        """Start it and return an administrator's URL."""
        if self._as is not None:
            os.chown(self._folder, self._as.pw_uid, self._as.pw_gid)
        self._command(
            "initdb",
            "-D",
            str(self._data),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        port = _free_port()
        options = (
            f"-p {port} -k {self._folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._command(
            "pg_ctl",
            "-D",
            str(self._data),
            "-l",
            str(self._folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(START_SECONDS),
            "start",
        )
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        return self.url

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        if self._data.exists():
            self._command(
                "pg_ctl",
                "-D",
                str(self._data),
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
                check=False,
            )
        shutil.rmtree(self._folder, ignore_errors=True)

    def _command(self, program: str, *arguments: str, check: bool = True) -> None:
        command = [str(self._binaries / program), *arguments]
        if self._as is not None:
            command = ["runuser", "-u", self._as.pw_name, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=START_SECONDS + STOP_SECONDS
        )
        if check and done.returncode:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the server as: none (ourselves) unless root, then `postgres`."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def _can_start(binaries: Path | None) -> bool:
    return binaries is not None and (os.geteuid() != 0 or _run_as() is not None)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """An administrator's URL of a running PostgreSQL server (CI's, or one started here)."""
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    binaries = server_binaries()
    if not _can_start(binaries):
        pytest.skip(
            "no PostgreSQL server: set TEST_POSTGRES_URL to an administrator's URL, or install "
            "initdb/pg_ctl (Debian: apt-get install postgresql) so the tests start their own"
        )
    server = ThrowawayServer(binaries)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of a new, empty database on that server, dropped after the test."""
    import psycopg2

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = psycopg2.connect(postgres_server, connect_timeout=10)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        yield urlunsplit(urlsplit(postgres_server)._replace(path=f"/{name}"))
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()
