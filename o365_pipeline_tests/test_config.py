"""The one typed configuration: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from o365_pipeline.config import ConfigurationError, env_example, load_settings

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    """No `O365_*` variable or `.env` of the developer's own reaches these tests."""
    for variable in [name for name in os.environ if name.startswith("O365_")]:
        monkeypatch.delenv(variable)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)


def test_env_example_is_generated_from_the_settings_model():
    assert (REPOSITORY / ".env.example").read_text() == env_example()


def test_every_setting_appears_in_env_example_once():
    text = env_example()
    assigned = [
        line.lstrip("# ").split("=", 1)[0]
        for line in text.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    ]
    assert len(assigned) == len(set(assigned))
    assert {"O365_CLIENT_ID", "O365_CLIENT_SECRET", "O365_API_BASE_URL", "DAGSTER_HOME"} <= set(
        assigned
    )
    # A blank DAGSTER_HOME would reach Dagster through `.env`; the example leaves it commented.
    assert "\nDAGSTER_HOME=" not in text


def test_no_app_registration_means_the_local_emulator():
    settings = load_settings()
    assert settings.is_local
    assert settings.client_secret is None


def test_an_app_id_without_a_secret_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("O365_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "O365_CLIENT_SECRET" in message and "\n" not in message


def test_a_certificate_without_its_thumbprint_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("O365_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("O365_CLIENT_CERTIFICATE_FILE", str(tmp_path / "app.pem"))
    with pytest.raises(ConfigurationError, match="O365_CLIENT_CERTIFICATE_THUMBPRINT"):
        load_settings()


def test_blank_values_in_a_dotenv_file_mean_unset(tmp_path):
    (tmp_path / ".env").write_text(
        "O365_CLIENT_ID=\nO365_API_BASE_URL=\nO365_CA_BUNDLE=\nO365_CLIENT_SECRET=\n"
    )
    settings = load_settings()
    assert settings.is_local
    assert settings.api_base_url is None and settings.ca_bundle is None


def test_dotenv_values_are_read_and_the_environment_wins(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("O365_SCHEDULE_WINDOWS=5\nO365_RELIST_HOURS=12\n")
    monkeypatch.setenv("O365_RELIST_HOURS", "30")
    settings = load_settings()
    assert settings.schedule_windows == 5
    assert settings.relist_hours == 30


def test_the_secret_never_shows_in_a_repr_or_an_error(monkeypatch):
    secret = "s3cr3t-value-that-must-not-leak"
    monkeypatch.setenv("O365_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("O365_CLIENT_SECRET", secret)
    monkeypatch.setenv("O365_PARTITION_START", "yesterday")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert secret not in str(caught.value)
    assert "O365_PARTITION_START" in str(caught.value)
    monkeypatch.delenv("O365_PARTITION_START")
    settings = load_settings()
    assert secret not in repr(settings) and secret not in str(settings.model_dump())


def test_the_partition_start_is_a_fixed_day_not_the_clock():
    first = load_settings().partition_start_time
    assert first.hour == 0 and first.tzinfo is not None
    assert load_settings(partition_start="2026-01-15").partition_start_time.day == 15


def _modules_of_the_package_containing(*needles: str) -> list[str]:
    return sorted(
        str(path.relative_to(REPOSITORY))
        for path in (REPOSITORY / "o365_pipeline").rglob("*.py")
        if any(needle in path.read_text() for needle in needles)
    )


def test_only_the_configuration_module_reads_the_environment():
    """Issue 9's check: `git grep os.environ -- o365_pipeline` shows one module."""
    assert _modules_of_the_package_containing("os.environ", "os.getenv") == [
        "o365_pipeline/config.py"
    ]


def test_no_production_module_outside_the_composition_root_imports_the_emulator():
    importers = sorted(
        str(path.relative_to(REPOSITORY))
        for path in (REPOSITORY / "o365_pipeline").rglob("*.py")
        if any(
            line.startswith(("import o365_emulator", "from o365_emulator"))
            for line in path.read_text().splitlines()
        )
    )
    assert importers == ["o365_pipeline/definitions.py"]
