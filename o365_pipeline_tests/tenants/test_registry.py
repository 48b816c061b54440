"""The tenant registry: validated entries, no duplicates, atomic and concurrent-safe writes,
per-tenant credentials by reference (never the secret itself)."""

import json
import threading
import uuid

import pytest

from o365_pipeline.api.settings import ClientCertificate, ClientSecret, ClientSettings
from o365_pipeline.tenants import DEMO_TENANTS, InvalidTenantError
from o365_pipeline.tenants.credentials import with_own_credentials
from o365_pipeline.tenants.directory import RegistryTenants
from o365_pipeline.tenants.registry import RegisteredTenant, RegistryError, TenantRegistry

GUID = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"


def test_add_list_get_remove_round_trip(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    registry.add(RegisteredTenant("contoso", GUID, cloud="gcc"))
    assert [entry.name for entry in registry.tenants()] == ["contoso"]
    assert registry.get("contoso").tenant.cloud == "gcc"
    registry.remove("contoso")
    assert registry.tenants() == ()


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "Contoso Ltd", "tenant_id": GUID},
        {"name": "../etc", "tenant_id": GUID},
        {"name": "contoso", "tenant_id": "contoso.onmicrosoft.com"},
        {"name": "contoso", "tenant_id": GUID, "cloud": "mars"},
        {"name": "contoso", "tenant_id": GUID, "certificate_file": "key.pem"},
    ],
)
def test_unsafe_names_bad_ids_clouds_and_half_certificates_are_refused(entry):
    with pytest.raises(InvalidTenantError):
        RegisteredTenant(**entry)


def test_a_name_or_tenant_id_is_registered_once(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    registry.add(RegisteredTenant("contoso", GUID))
    with pytest.raises(RegistryError, match="already registered"):
        registry.add(RegisteredTenant("contoso", str(uuid.uuid4())))
    with pytest.raises(RegistryError, match="already registered as 'contoso'"):
        registry.add(RegisteredTenant("other", GUID))


@pytest.mark.parametrize("spelling", [GUID.upper(), f"  {GUID} ", f"{{{GUID}}}".upper()])
def test_the_same_tenant_in_another_spelling_is_the_same_tenant(tmp_path, spelling):
    """Upper case or spaces must not register a tenant twice (every record would double)."""
    registry = TenantRegistry(tmp_path / "tenants.json")
    registry.add(RegisteredTenant("contoso", GUID))
    with pytest.raises((RegistryError, InvalidTenantError)) as caught:
        registry.add(RegisteredTenant("other", spelling))
    assert "contoso" in str(caught.value) or "plain" in str(caught.value)
    assert [entry.tenant_id for entry in registry.tenants()] == [GUID]


def test_concurrent_adds_all_land(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    threads = [
        threading.Thread(
            target=lambda n=n: TenantRegistry(registry.path).add(
                RegisteredTenant(f"customer-{n}", str(uuid.uuid4()))
            )
        )
        for n in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(registry.tenants()) == 12


def test_an_unknown_tenant_names_the_registered_ones_and_the_command(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    registry.add(RegisteredTenant("contoso", GUID))
    with pytest.raises(RegistryError, match=r"registered: contoso.*tenants add"):
        registry.get("fabrikam")


def test_a_damaged_registry_says_which_file(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text("{not json")
    with pytest.raises(RegistryError, match=str(path)):
        TenantRegistry(path).tenants()


def test_the_directory_serves_the_fallback_until_the_first_registration(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    directory = RegistryTenants(registry, fallback=DEMO_TENANTS)
    assert directory.all() == DEMO_TENANTS
    registry.add(RegisteredTenant("acme", GUID))
    assert [tenant.name for tenant in directory.all()] == ["acme"]


def _settings():
    return ClientSettings(
        tenant_id=GUID, client_id=str(uuid.uuid4()), credential=ClientSecret("shared-secret")
    )


def test_own_secret_is_read_from_the_named_variable_and_never_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_SECRET", "acme-secret-value")
    registry = TenantRegistry(tmp_path / "tenants.json")
    app = str(uuid.uuid4())
    registry.add(RegisteredTenant("acme", GUID, client_id=app, client_secret_env="ACME_SECRET"))
    settings = with_own_credentials(_settings(), registry.get("acme"))
    assert settings.client_id == app and settings.credential == ClientSecret("acme-secret-value")
    assert "acme-secret-value" not in registry.path.read_text()
    assert json.loads(registry.path.read_text())["tenants"][0]["client_secret_env"] == "ACME_SECRET"


def test_a_missing_secret_variable_is_named_without_any_value(monkeypatch):
    monkeypatch.delenv("ACME_SECRET", raising=False)
    entry = RegisteredTenant("acme", GUID, client_secret_env="ACME_SECRET")
    with pytest.raises(RegistryError, match=r"\$ACME_SECRET, which is not set"):
        with_own_credentials(_settings(), entry)


def test_own_certificate_is_read_from_its_file(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    entry = RegisteredTenant(
        "acme", GUID, certificate_file=str(key), certificate_thumbprint="AB" * 20
    )
    credential = with_own_credentials(_settings(), entry).credential
    assert isinstance(credential, ClientCertificate) and credential.thumbprint == "AB" * 20
    assert "PRIVATE KEY" not in repr(credential)
