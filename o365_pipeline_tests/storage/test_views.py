from datetime import UTC, datetime, timedelta

from o365_pipeline.api.content import ContentBlob
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BlobOutcome, LedgerEntry, read_ledger, write_ledger
from o365_pipeline.storage.listings import ListingMissingError, load_listing, save_listing
from o365_pipeline.storage.partition_writer import AuditPartitionWriter
from o365_pipeline.storage.views import connect, create_database_file

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _land(layout, hour, ids, tenant="contoso", content_type="Audit.Exchange"):
    records = [{"Id": record_id, "CreationTime": "2026-11-25T08:30:00"} for record_id in ids]
    batch = records_table(
        records,
        tenant=tenant,
        content_type=content_type,
        content_id=f"blob-{hour:%H}",
        content_created=hour,
        ingested_at=hour,
    )
    with AuditPartitionWriter(layout.audit_file(content_type, tenant, hour)) as writer:
        writer.write(batch)
        writer.commit()


def test_views_exist_and_are_empty_before_anything_lands(tmp_path):
    with connect(tmp_path) as connection:
        for view in (
            "audit",
            "audit_all",
            "audit_exchange",
            "dlp_all",
            "ledger",
            "ledger_blobs",
            "listings",
        ):
            assert connection.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
        columns = [row[0] for row in connection.execute("DESCRIBE audit").fetchall()]
    assert columns[:3] == ["Id", "CreationTime", "Operation"]


def test_a_redelivered_id_shows_once_in_audit_but_twice_in_its_content_type_view(tmp_path):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a", "b"])
    _land(layout, HOUR + timedelta(hours=1), ["b", "c"])
    with connect(tmp_path) as connection:
        audit = connection.execute("SELECT Id, hour FROM audit ORDER BY Id").fetchall()
        stored = connection.execute("SELECT count(*) FROM audit_exchange").fetchone()
    assert audit == [("a", 9), ("b", 9), ("c", 10)]
    assert stored == (4,)


def test_the_same_id_in_two_tenants_is_two_records(tmp_path):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a"], tenant="contoso")
    _land(layout, HOUR, ["a"], tenant="fabrikam")
    with connect(tmp_path) as connection:
        assert connection.execute("SELECT count(*) FROM audit").fetchone() == (2,)


def test_ledger_round_trips_and_is_queryable(tmp_path):
    layout = DataLayout(tmp_path)
    entry = LedgerEntry(
        "contoso",
        "Audit.Exchange",
        HOUR,
        HOUR + timedelta(hours=1),
        2,
        1,
        0,
        1,
        10,
        1,
        9,
        1234,
        HOUR,
        HOUR,
        "complete_with_loss",
    )
    outcomes = [
        BlobOutcome("b1", HOUR, HOUR, "fetched", 10, None),
        BlobOutcome("b2", HOUR, HOUR, "expired", 0, "AF20051"),
    ]
    path = layout.ledger_file("Audit.Exchange", "contoso", HOUR)
    write_ledger(path, entry, outcomes)
    assert read_ledger(path) == (entry, outcomes)
    with connect(tmp_path) as connection:
        assert connection.execute("SELECT status, blobs_expired FROM ledger").fetchall() == [
            ("complete_with_loss", 1)
        ]
        assert connection.execute(
            "SELECT content_id FROM ledger_blobs WHERE status = 'expired'"
        ).fetchall() == [("b2",)]


def test_listing_round_trips_in_order(tmp_path):
    path = DataLayout(tmp_path).listing_file("Audit.Exchange", "contoso", HOUR)
    blobs = [
        ContentBlob(
            "Audit.Exchange",
            f"id{i}",
            f"https://h/{i}",
            HOUR + timedelta(minutes=i),
            HOUR + timedelta(days=7),
        )
        for i in range(3)
    ]
    save_listing(path, blobs, listed_at=HOUR)
    assert load_listing(path) == blobs


def test_a_missing_listing_says_which_asset_to_materialize(tmp_path):
    path = DataLayout(tmp_path).listing_file("Audit.Exchange", "contoso", HOUR)
    try:
        load_listing(path)
    except ListingMissingError as error:
        assert "content_listing" in str(error)
    else:
        raise AssertionError("expected ListingMissingError")


def test_a_database_file_keeps_the_views_for_analysts(tmp_path):
    layout = DataLayout(tmp_path / "data")
    _land(layout, HOUR, ["a"])
    database = tmp_path / "o365.duckdb"
    create_database_file(tmp_path / "data", database)
    import duckdb

    with duckdb.connect(str(database)) as connection:
        assert connection.execute("SELECT count(*) FROM audit").fetchone() == (1,)


def test_freshness_gives_newest_content_and_lag_per_tenant_and_content_type(tmp_path):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a", "b"], tenant="contoso")  # CreationTime 08:30, ingested 09:00
    _land(layout, HOUR + timedelta(hours=2), ["c"], tenant="contoso")  # ingested 11:00
    _land(layout, HOUR, ["d"], tenant="fabrikam", content_type="DLP.All")
    with connect(tmp_path) as connection:
        rows = connection.execute(
            "SELECT tenant, content_type, newest_content_created, records, lag_minutes_p50, "
            "lag_minutes_max FROM freshness ORDER BY tenant"
        ).fetchall()
    assert rows == [
        ("contoso", "Audit.Exchange", HOUR + timedelta(hours=2), 3, 30.0, 150.0),
        ("fabrikam", "DLP.All", HOUR, 1, 30.0, 30.0),
    ]


def test_freshness_exists_before_anything_lands(tmp_path):
    with connect(tmp_path) as connection:
        assert connection.execute("SELECT count(*) FROM freshness").fetchone() == (0,)


def test_audit_shows_one_client_address_whatever_form_the_workload_wrote(tmp_path):
    """`ClientIP` comes as `a.b.c.d`, `a.b.c.d:port`, `[v6]:port` or bare v6: one address each,
    so failed sign-ins group by client; the original text stays, and the record's raw JSON too.
    """
    forms = {
        "plain": ("203.0.113.77", "203.0.113.77", None),
        "with-port": ("203.0.113.77:3297", "203.0.113.77", 3297),
        "v6-port": ("[2001:db8::1]:443", "2001:db8::1", 443),
        "v6": ("2001:db8::1", "2001:db8::1", None),
        "empty": ("", None, None),
    }
    records = [
        {"Id": name, "CreationTime": "2026-11-25T08:30:00", "ClientIP": text}
        for name, (text, _, _) in forms.items()
    ]
    batch = records_table(
        records,
        tenant="contoso",
        content_type="Audit.AzureActiveDirectory",
        content_id="blob-ip",
        content_created=HOUR,
        ingested_at=HOUR,
    )
    layout = DataLayout(tmp_path)
    with AuditPartitionWriter(
        layout.audit_file("Audit.AzureActiveDirectory", "contoso", HOUR)
    ) as writer:
        writer.write(batch)
        writer.commit()
    with connect(tmp_path) as connection:
        rows = connection.execute(
            "SELECT Id, ClientIP, client_address, client_port, raw_json->>'$.Id' FROM audit"
        ).fetchall()
    assert {row[0]: row[1:] for row in rows} == {
        name: (text, address, port, name) for name, (text, address, port) in forms.items()
    }
