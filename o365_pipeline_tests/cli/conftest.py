import os

import pytest

from o365_pipeline_tests.landed import landed_dataset, landed_original  # noqa: F401


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    """No `O365_*` variable or `.env` of the developer's own reaches the commands."""
    for variable in [name for name in os.environ if name.startswith("O365_")]:
        monkeypatch.delenv(variable)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
