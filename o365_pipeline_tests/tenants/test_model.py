import pytest

from o365_pipeline.config import Settings
from o365_pipeline.content_types import (
    CONTENT_TYPES,
    UnknownContentTypeError,
    content_type_named,
)
from o365_pipeline.tenants import (
    DEMO_TENANTS,
    InvalidTenantError,
    Tenant,
)
from o365_pipeline.tenants.directory import directory_for
from o365_pipeline.tenants.registry import RegisteredTenant, TenantRegistry


@pytest.mark.parametrize("name", ["Contoso", "con toso", "../etc", "", "a" * 64, "-lead"])
def test_customer_names_that_would_break_paths_or_keys_are_refused(name):
    with pytest.raises(InvalidTenantError, match="customer name"):
        Tenant(name=name, tenant_id=DEMO_TENANTS[0].tenant_id)


@pytest.mark.parametrize(
    "tenant_id", ["contoso.onmicrosoft.com", "1234", "{7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90}"]
)
def test_tenant_ids_that_are_not_plain_guids_are_refused_with_an_example(tenant_id):
    with pytest.raises(InvalidTenantError, match="GUID|8-4-4-4-12"):
        Tenant(name="contoso", tenant_id=tenant_id)


def test_tenant_id_is_normalized_to_lowercase():
    tenant = Tenant(name="contoso", tenant_id="7A1C3E55-2F0B-4E8E-9C3D-1B2A4F6E8D90")
    assert tenant.tenant_id == "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"


def test_without_configuration_the_demo_tenants_are_served(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert directory_for(settings).all() == DEMO_TENANTS


def test_a_real_tenant_comes_from_the_settings(tmp_path):
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        tenant_id="2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11",
        tenant_name="acme",
        cloud="gcc_high",
        client_id="11111111-2222-3333-4444-555555555555",
        client_secret="s3cret",
    )
    (tenant,) = directory_for(settings).all()
    assert (tenant.name, tenant.cloud) == ("acme", "gcc_high")


def test_registering_a_tenant_keeps_the_demo_tenants_of_a_local_deployment(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    TenantRegistry(settings.registry_file).add(
        RegisteredTenant("acme", "3c9d2b7e-55aa-4c1f-9e0b-8f2d6a1c4e77")
    )
    names = [tenant.name for tenant in directory_for(settings).all()]
    assert names == ["acme", *(tenant.name for tenant in DEMO_TENANTS)]


def test_content_types_are_matched_case_insensitively_and_echoed_canonically():
    assert content_type_named("audit.sharepoint").name == "Audit.SharePoint"


def test_unknown_content_type_error_lists_the_five_valid_names():
    with pytest.raises(UnknownContentTypeError) as raised:
        content_type_named("Audit.Teams")
    assert all(content_type.name in str(raised.value) for content_type in CONTENT_TYPES)
