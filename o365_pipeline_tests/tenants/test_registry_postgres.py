"""The tenant registry in PostgreSQL: the same rules as the file (one interface, two stores),
shared by separate registry objects as machines share it, and chosen by O365_POSTGRES_URL."""

import json
import threading
import uuid

import psycopg2
import pytest

from o365_pipeline.config import load_settings
from o365_pipeline.storage.postgres import DatabaseError, DatabaseUrl
from o365_pipeline.tenants.directory import directory_for
from o365_pipeline.tenants.registry import RegisteredTenant, RegistryError, TenantRegistry
from o365_pipeline.tenants.registry_postgres import TABLE, PostgresTenantRegistry

GUID = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"


@pytest.fixture(params=["file", "postgres"])
def open_registry(request, tmp_path):
    """A factory of registry objects on one store: each call is another process's view."""
    if request.param == "file":
        return lambda: TenantRegistry(tmp_path / "tenants.json")
    url = DatabaseUrl(request.getfixturevalue("postgres_url"))
    return lambda: PostgresTenantRegistry(url)


def test_both_stores_keep_the_same_rules(open_registry):
    registry = open_registry()
    assert not registry.exists() and registry.tenants() == ()
    registry.add(RegisteredTenant("contoso", GUID, cloud="gcc", client_secret_env="CONTOSO_SECRET"))
    registry.add(RegisteredTenant("fabrikam", str(uuid.uuid4()), consent_pending_since="x"))
    with pytest.raises(RegistryError, match="already registered"):
        registry.add(RegisteredTenant("contoso", str(uuid.uuid4())))
    with pytest.raises(RegistryError, match="already registered as 'contoso'"):
        open_registry().add(RegisteredTenant("other", GUID.upper()))
    other = open_registry()  # another process: sees what the first wrote
    assert [entry.name for entry in other.tenants()] == ["contoso", "fabrikam"]
    assert other.get("contoso").tenant.cloud == "gcc"
    assert other.get("contoso").client_secret_env == "CONTOSO_SECRET"
    assert [entry.name for entry in other.awaiting_consent()] == ["fabrikam"]
    other.record_consent("fabrikam")
    assert registry.awaiting_consent() == ()
    registry.remove("contoso")
    assert [entry.name for entry in other.tenants()] == ["fabrikam"]
    with pytest.raises(RegistryError, match="No tenant called 'contoso'"):
        other.get("contoso")
    registry.remove("fabrikam")
    assert registry.exists() and registry.tenants() == ()  # registered once: no fallback


def test_concurrent_adds_from_separate_connections_all_land(postgres_url):
    url = DatabaseUrl(postgres_url)
    failures = []

    def add(number):
        try:
            PostgresTenantRegistry(url).add(
                RegisteredTenant(f"customer-{number}", str(uuid.uuid4()))
            )
        except Exception as error:  # recorded, then asserted on
            failures.append(error)

    threads = [threading.Thread(target=add, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert len(PostgresTenantRegistry(url).tenants()) == 8


def test_a_hand_edited_row_is_named_with_the_fix(postgres_url):
    registry = PostgresTenantRegistry(DatabaseUrl(postgres_url))
    registry.add(RegisteredTenant("contoso", GUID))
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET entry = %s", (json.dumps({"name": "contoso"}),))
    with pytest.raises(RegistryError, match=rf"unreadable entry.*{TABLE}") as caught:
        registry.tenants()
    assert "\n" not in str(caught.value)


def test_the_postgres_url_chooses_the_database_registry(postgres_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    PostgresTenantRegistry(DatabaseUrl(postgres_url)).add(RegisteredTenant("contoso", GUID))
    settings = load_settings(data_dir=tmp_path, postgres_url=postgres_url, client_id=None)
    served = directory_for(settings)
    assert isinstance(served.registry, PostgresTenantRegistry)
    assert "contoso" in [tenant.name for tenant in served.all()]
    assert not (tmp_path / "tenants.json").exists()
    plain = directory_for(load_settings(data_dir=tmp_path, postgres_url=None, client_id=None))
    assert isinstance(plain.registry, TenantRegistry)


def test_an_unreachable_database_is_one_line_without_the_password():
    registry = PostgresTenantRegistry(DatabaseUrl("postgresql://u@127.0.0.1:9/none", "s3cret-pw"))
    with pytest.raises(DatabaseError) as caught:
        registry.tenants()
    message = str(caught.value)
    assert "s3cret-pw" not in message and "\n" not in message
    assert "postgresql://127.0.0.1:9/none" in message and "O365_POSTGRES_URL" in message
