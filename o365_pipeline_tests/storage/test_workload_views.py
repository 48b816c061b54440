"""The typed workload views: one row per `audit` row of their RecordTypes whatever shape a
field takes, values read the way Microsoft's schema names them, declared types and comments
true in DuckDB, and `docs/views.md` equal to the catalog."""

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from o365_emulator.replay import content_type_of
from o365_emulator.workloads import BUILDERS_BY_CONTENT_TYPE, Population
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.partition_writer import AuditPartitionWriter
from o365_pipeline.storage.views import connect
from o365_pipeline.storage.views_reference import views_reference
from o365_pipeline.storage.workload_columns import AUDIT_COLUMNS, WORKLOAD_VIEWS
from o365_pipeline_tests.corpus import corpus, corpus_file

REPOSITORY = Path(__file__).resolve().parents[2]
HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)
TENANT_ID = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"
VIEWS = {view.name: view for view in WORKLOAD_VIEWS}


def _land(root, records, content_type, tenant="contoso", hour=HOUR):
    batch = records_table(
        records,
        tenant=tenant,
        content_type=content_type,
        content_id=f"blob-{tenant}-{hour:%H}",
        content_created=hour,
        ingested_at=hour,
    )
    with AuditPartitionWriter(DataLayout(root).audit_file(content_type, tenant, hour)) as writer:
        writer.write(batch)
        writer.commit()


def _emulated(content_type, count, seed=7):
    """Records from the emulator's own workload builders (no HTTP needed for view logic)."""
    rng = random.Random(seed)
    people = Population(TENANT_ID, "contoso.onmicrosoft.com")
    records = []
    for index in range(count):
        for builder, _ in BUILDERS_BY_CONTENT_TYPE[content_type]:
            at = HOUR - timedelta(minutes=index)
            body = builder(rng, people, at)
            records.append(
                {"Id": f"{content_type}-{index}-{builder.__name__}", **body}
                | {"CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S")}
            )
    return records


def _count_by_view(connection):
    counts = {}
    for view in WORKLOAD_VIEWS:
        kinds = ", ".join(map(str, view.record_types))
        (expected,) = connection.execute(
            f"SELECT count(*) FROM audit WHERE RecordType IN ({kinds})"
        ).fetchall()[0]
        (shown,) = connection.execute(f"SELECT count(*) FROM {view.name}").fetchall()[0]
        counts[view.name] = (shown, expected)
    return counts


@pytest.fixture(scope="module")
def emulated_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("emulated")
    for content_type in BUILDERS_BY_CONTENT_TYPE:
        _land(root, _emulated(content_type, 12), content_type)
    return root


def test_each_view_has_one_row_per_audit_row_of_its_record_types(emulated_root):
    with connect(emulated_root) as connection:
        counts = _count_by_view(connection)
    assert all(shown == expected > 0 for shown, expected in counts.values()), counts


def test_sign_ins_type_the_emulator_s_logons(emulated_root):
    with connect(emulated_root) as connection:
        rows = connection.execute(
            "SELECT result, error_number, logon_error, user_agent, request_type, os, "
            "application_id, client_address FROM sign_ins WHERE Operation = 'UserLoginFailed'"
        ).fetchall()
        results = dict(
            connection.execute("SELECT result, count(*) FROM sign_ins GROUP BY 1").fetchall()
        )
    assert rows, "the emulator fails some sign-ins"
    for result, error, logon_error, agent, request, os_name, application, address in rows:
        assert result == "Failure" and error in {50126, 50053, 50074, 50057} and logon_error
        assert agent and request and os_name and application and ":" not in address.strip("[]")
    assert results["Success"] > results["Failure"]


def test_a_view_keeps_every_record_whatever_shape_its_fields_take(tmp_path):
    odd = [
        {  # numbers as strings, lists written as JSON text, a repeated parameter name
            "Id": "admin-1",
            "RecordType": "1",
            "Operation": "Set-Mailbox",
            "ResultStatus": "True",
            "ClientIP": "[2001:db8::5]:443",
            "Parameters": json.dumps(
                [
                    {"Name": "Identity", "Value": "megan.b@contoso.onmicrosoft.com"},
                    {"Name": "ForwardingSmtpAddress", "Value": "smtp:out@example.net"},
                    {"Name": "Identity", "Value": "shadowed"},
                    {"Value": "nameless"},
                ]
            ),
        },
        {"Id": "admin-2", "RecordType": 1, "Operation": "Get-Mailbox", "Parameters": "not json"},
        {"Id": "admin-3", "RecordType": 1, "Operation": "Get-Mailbox", "Parameters": {"a": 1}},
        {"Id": "mailbox-1", "RecordType": 50, "LogonType": "2", "OperationCount": "3.0"},
        {"Id": "mailbox-2", "RecordType": 2, "LogonType": 99, "Folders": "[oops"},
        {
            "Id": "signin-1",
            "RecordType": 15,
            "Operation": "UserLoggedIn",
            "ErrorNumber": 0,
            "ActorIpAddress": "203.0.113.7:5100",
            "ExtendedProperties": json.dumps([{"Name": "UserAgent", "Value": "curl/8"}]),
        },
        {"Id": "signin-2", "RecordType": 15, "ExtendedProperties": "[]", "ErrorNumber": "x"},
        {"Id": "dlp-1", "RecordType": 11, "PolicyDetails": "broken"},
        {
            "Id": "dlp-2",
            "RecordType": 13,
            "PolicyDetails": [
                {
                    "PolicyName": "PCI",
                    "Rules": [
                        {"RuleName": "low", "Severity": "Low"},
                        {
                            "RuleName": "high",
                            "Severity": "High",
                            "ConditionsMatched": {
                                "SensitiveInformation": [
                                    {"SensitiveType": "card", "Count": "4", "Confidence": 85},
                                    {"SensitiveType": "iban", "Count": 2, "Confidence": "95"},
                                ]
                            },
                        },
                    ],
                }
            ],
        },
    ]
    _land(tmp_path, odd, "Audit.General")
    with connect(tmp_path) as connection:
        counts = _count_by_view(connection)
        admin = connection.execute(
            "SELECT Id, parameters, forwarding_address, succeeded, client_address, client_port "
            "FROM exchange_admin ORDER BY Id"
        ).fetchall()
        mailbox = connection.execute(
            "SELECT Id, logon_type, logon_type_name, operation_count, folders "
            "FROM mailbox_activity ORDER BY Id"
        ).fetchall()
        sign_ins = connection.execute(
            "SELECT Id, result, client_address, client_port, user_agent FROM sign_ins ORDER BY Id"
        ).fetchall()
        dlp = connection.execute(
            "SELECT Id, policy_name, rule_name, severity, sensitive_type, sensitive_count, "
            "confidence, match_total FROM dlp_matches ORDER BY Id"
        ).fetchall()
    assert all(shown == expected for shown, expected in counts.values()), counts
    assert admin == [
        (
            "admin-1",
            {
                "Identity": "megan.b@contoso.onmicrosoft.com",
                "ForwardingSmtpAddress": "smtp:out@example.net",
            },
            "smtp:out@example.net",
            True,
            "2001:db8::5",
            443,
        ),
        ("admin-2", {}, None, None, None, None),
        ("admin-3", {}, None, None, None, None),
    ]
    assert mailbox == [
        ("mailbox-1", 2, "Delegated", 3, []),
        ("mailbox-2", 99, None, None, []),
    ]
    assert sign_ins == [
        ("signin-1", "Success", "203.0.113.7", 5100, "curl/8"),
        ("signin-2", "Success", None, None, None),
    ]
    assert dlp == [
        ("dlp-1", None, None, None, None, None, None, 0),
        ("dlp-2", "PCI", "low", "High", "card", 6, 95, 2),
    ]


def test_declared_types_are_the_types_duckdb_reports(emulated_root):
    with connect(emulated_root) as connection:
        for view in WORKLOAD_VIEWS:
            described = connection.execute(f"DESCRIBE {view.name}").fetchall()
            actual = [(name, kind) for name, kind, *_ in described]
            declared = [(column.name, _normalized(column.type)) for column in view.columns]
            assert [(name, _normalized(kind)) for name, kind in actual] == declared, view.name


def _normalized(kind: str) -> str:
    compact = kind.replace('"', "").replace(" ", "").upper()
    return compact.replace("TIMESTAMPWITHTIMEZONE", "TIMESTAMPTZ")


def test_every_view_and_column_is_described_in_duckdb(emulated_root):
    with connect(emulated_root) as connection:
        views = dict(connection.execute("SELECT view_name, comment FROM duckdb_views()").fetchall())
        columns = connection.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE table_name IN ? OR table_name = 'audit'",
            [list(VIEWS)],
        ).fetchall()
    assert all(views[name] for name in [*VIEWS, "audit"])
    undescribed = [(table, column) for table, column, comment in columns if not comment]
    assert undescribed == [], "describe them in o365_pipeline/storage/workload_columns/"


def test_every_audit_column_has_a_description_in_the_catalog(emulated_root):
    with connect(emulated_root) as connection:
        present = [row[0] for row in connection.execute("DESCRIBE audit").fetchall()]
    assert set(present) <= {name for name, _, _ in AUDIT_COLUMNS}


def test_docs_views_md_is_generated_from_the_catalog():
    reference = (REPOSITORY / "docs" / "views.md").read_text()
    assert reference == views_reference(), (
        "regenerate: python -m o365_pipeline.storage.views_reference > docs/views.md"
    )
    for view in WORKLOAD_VIEWS:
        assert f"## {view.name}" in reference
        assert all(f"| `{column.name}` |" in reference for column in view.columns)


@corpus
def test_the_corpus_and_its_type_variants_keep_every_record_in_every_view(tmp_path):
    """Real-shaped third-party records (and variants of them with numbers as strings, objects
    as text, …): every one reaches its view, and every column of every view can be read.
    Variants that share an Id get a suffix to it, so `audit` hides none of them.
    """
    by_content_type = defaultdict(list)
    for name in ("records.ndjson", "variants.ndjson"):
        for line_number, line in enumerate(corpus_file("elastic-o365", name).open()):
            record = json.loads(line)
            if isinstance(record.get("Id"), str):  # one without never lands (blob reader)
                record["Id"] += f"#{name}:{line_number}"
                by_content_type[content_type_of(record).name].append(record)
    for content_type, records in by_content_type.items():
        _land(tmp_path, records, content_type)
    with connect(tmp_path) as connection:
        counts = _count_by_view(connection)
        for view in WORKLOAD_VIEWS:
            connection.execute(f"SELECT * FROM {view.name}").fetchall()
        forwarding = connection.execute(
            "SELECT count(*) FROM exchange_admin WHERE cardinality(parameters) > 0"
        ).fetchall()[0][0]
        severities = connection.execute(
            "SELECT DISTINCT severity FROM dlp_matches WHERE severity IS NOT NULL"
        ).fetchall()
    assert all(shown == expected > 0 for shown, expected in counts.values()), counts
    assert forwarding > 0 and {"High"} <= {row[0] for row in severities}
