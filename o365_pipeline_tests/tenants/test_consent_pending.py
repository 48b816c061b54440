"""Tenants waiting for admin consent: kept in the registry, not served (so no partitions or
schedule), served once their consent is recorded; entries without the field stay served."""

import json

import pytest

from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline.tenants.directory import RegistryTenants
from o365_pipeline.tenants.registry import RegisteredTenant, RegistryError, TenantRegistry

ACME = "3c9d2e1f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
GLOBEX = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"
ASKED = "2026-12-03T10:00:00+00:00"


@pytest.fixture
def registry(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    registry.add(RegisteredTenant("acme", ACME))
    registry.add(RegisteredTenant("globex", GLOBEX, consent_pending_since=ASKED))
    return registry


def test_a_pending_tenant_is_registered_but_not_served(registry):
    directory = RegistryTenants(registry)

    assert [entry.name for entry in registry.tenants()] == ["acme", "globex"]
    assert [tenant.name for tenant in directory.all()] == ["acme"]
    assert [entry.name for entry in registry.awaiting_consent()] == ["globex"]


def test_asking_for_a_pending_tenant_says_it_waits_for_consent(registry):
    with pytest.raises(RegistryError, match=f"waits for admin consent .*onboard globex {GLOBEX}"):
        RegistryTenants(registry).get("globex")


def test_recording_consent_serves_the_tenant_and_keeps_when(registry):
    entry = registry.record_consent("globex")

    assert not entry.consent_pending and entry.consent_granted_at
    assert [tenant.name for tenant in RegistryTenants(registry).all()] == ["acme", "globex"]
    stored = json.loads(registry.path.read_text())["tenants"][1]
    assert "consent_pending_since" not in stored and stored["consent_granted_at"]


def test_a_pending_tenant_with_a_demo_tenants_id_does_not_bring_the_demo_back(tmp_path):
    registry = TenantRegistry(tmp_path / "tenants.json")
    demo = DEMO_TENANTS[0]
    registry.add(RegisteredTenant("ours", demo.tenant_id, consent_pending_since=ASKED))

    served = RegistryTenants(registry, always=DEMO_TENANTS).all()

    assert demo.tenant_id not in {tenant.tenant_id for tenant in served}
    assert DEMO_TENANTS[1] in served


def test_entries_written_before_the_field_existed_are_served(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps({"tenants": [{"name": "acme", "tenant_id": ACME}]}))

    assert [tenant.name for tenant in RegistryTenants(TenantRegistry(path)).all()] == ["acme"]


def test_recording_consent_of_an_unknown_tenant_is_refused(registry):
    with pytest.raises(RegistryError, match="No tenant called 'initech'"):
        registry.record_consent("initech")
