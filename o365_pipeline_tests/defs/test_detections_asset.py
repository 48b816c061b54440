"""The `detections` asset materialized on an ephemeral instance over the landed planted day:
counts by rule, the findings as a table, and the check that warns on new high-severity ones."""

import shutil

import dagster as dg

from o365_pipeline.definitions import build_definitions
from o365_pipeline.defs.detections import (
    DETECTIONS_JOB_NAME,
    DETECTIONS_KEY,
    NEW_HIGH_SEVERITY_CHECK,
    build_detections_asset,
)
from o365_pipeline.defs.partitions import daily_partitions, day_partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.detections import load_rules
from o365_pipeline.tenants import DEMO_TENANTS


def _materialize(asset, root, instance, landing):
    return dg.materialize(
        [asset],
        resources={"storage": StorageResource(data_dir=str(root))},
        instance=instance,
        partition_key=day_partition_key_for(landing.tenant, landing.day),
    )


def test_the_asset_reports_findings_by_rule_and_warns_on_new_high_severity(planted_day, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(planted_day.root, root)
    asset = build_detections_asset(daily_partitions(DEMO_TENANTS))
    with dg.DagsterInstance.ephemeral() as instance:
        first = _materialize(asset, root, instance, planted_day)

    (materialization,) = first.asset_materializations_for_node("detections")
    metadata = materialization.metadata
    assert metadata["findings"].value == len(planted_day.patterns) == 7
    assert metadata["findings_by_rule"].data == {rule.name: 1 for rule in load_rules()}
    table = metadata["findings_table"].value
    assert sorted(record.data["rule"] for record in table.records) == sorted(
        rule.name for rule in load_rules()
    )
    assert {column.name for column in table.schema.columns} >= {"rule", "user", "evidence"}
    (check,) = first.get_asset_check_evaluations()
    assert check.check_name == NEW_HIGH_SEVERITY_CHECK and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["new_high_severity"].value == 4


def test_a_day_without_patterns_passes_the_check(background_day, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(background_day.root, root)
    asset = build_detections_asset(daily_partitions(DEMO_TENANTS))
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(asset, root, instance, background_day)
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["high_severity"].value == 0


def test_the_definitions_hold_the_asset_its_check_and_its_job():
    defs = build_definitions()
    assets_def = defs.resolve_assets_def(DETECTIONS_KEY)
    assert dg.AssetCheckKey(DETECTIONS_KEY, NEW_HIGH_SEVERITY_CHECK) in assets_def.check_keys
    assert defs.resolve_job_def(DETECTIONS_JOB_NAME)
    upstream = {key.path[0] for key in assets_def.dependency_keys}
    assert upstream == {"audit"}
