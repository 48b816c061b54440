"""Webhook POSTs judged and recorded (authId, shapes, durability, de-duplication), and recorded
notifications grouped into the windows to land, with an injected clock."""

import json
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
from pydantic import SecretStr

from o365_pipeline.pipeline.notifications import (
    NotificationCursor,
    answer_webhook_post,
    notified_windows,
)
from o365_pipeline.pipeline.window_landing import land_window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.notification_log import NotificationLog
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.hostile_hosts import watched_port

AUTH_TEXT = "s3cret-auth-id-0123456789"
AUTH_ID = SecretStr(AUTH_TEXT)
TENANT = DEMO_TENANTS[0]
NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
START = NotificationCursor()


def _item(content_id, created, tenant_id=TENANT.tenant_id, content_type="Audit.Exchange"):
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "tenantId": tenant_id,
        "clientId": "5e1b0a3c-7d2f-4e8a-9b6c-0f4d3e2a1b9c",
        "contentType": content_type,
        "contentId": content_id,
        "contentUri": f"https://manage.office.com/api/v1.0/{tenant_id}/activity/feed/audit/{content_id}",
        "contentCreated": stamp,
        "contentExpiration": (created + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def _post(log, body, auth_id=AUTH_TEXT):
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return answer_webhook_post(
        auth_id=auth_id, body=payload, expected_auth_id=AUTH_ID, log=log, clock=lambda: NOW
    )


def test_the_validation_post_is_answered_200_and_records_nothing(tmp_path):
    log = NotificationLog.in_data_dir(tmp_path)
    answer = _post(log, {"validationCode": "opaque"})
    assert answer.status == 200
    assert log.count() == 0


def test_a_missing_or_wrong_auth_id_is_refused_in_a_line_without_the_secret(tmp_path):
    log = NotificationLog.in_data_dir(tmp_path)
    body = [_item("a1", NOW - timedelta(hours=2))]
    missing = _post(log, body, auth_id=None)
    wrong = _post(log, body, auth_id="guessed-auth-id-0123456789")
    assert (missing.status, wrong.status) == (401, 401)
    for answer in (missing, wrong):
        assert "\n" not in answer.log_line
        assert AUTH_ID.get_secret_value() not in answer.log_line
        assert "guessed" not in answer.log_line
    assert log.count() == 0


def test_an_answered_notification_is_on_disk_for_another_reader(tmp_path):
    answer = _post(NotificationLog.in_data_dir(tmp_path), [_item("a1", NOW - timedelta(hours=2))])
    assert answer.status == 200
    [row] = NotificationLog.in_data_dir(tmp_path).after(0)  # a fresh handle, as after a restart
    assert row.notification.blob.content_id == "a1"
    assert row.notification.tenant_id == TENANT.tenant_id
    assert row.notification.blob.content_created == NOW - timedelta(hours=2)


def test_a_blob_notified_twice_is_recorded_once(tmp_path):
    log = NotificationLog.in_data_dir(tmp_path)
    created = NOW - timedelta(hours=2)
    assert _post(log, [_item("a1", created), _item("a2", created)]).status == 200
    again = _post(log, [_item("a2", created), _item("a3", created)])
    assert again.status == 200 and "recorded 1 new of 2" in again.log_line
    assert [row.notification.blob.content_id for row in log.after(0)] == ["a1", "a2", "a3"]


def test_a_notification_with_one_bad_item_is_refused_whole(tmp_path):
    log = NotificationLog.in_data_dir(tmp_path)
    bad = _item("a2", NOW) | {"contentCreated": "yesterday"}
    answer = _post(log, [_item("a1", NOW), bad])
    assert answer.status == 400 and "Item 1: contentCreated" in answer.log_line
    assert _post(log, b"\xff not json").status == 400
    assert _post(log, {"something": "else"}).status == 400
    assert log.count() == 0


def _recorded(tmp_path, *items):
    log = NotificationLog.in_data_dir(tmp_path)
    assert _post(log, list(items)).status == 200
    return log


def test_windows_are_ready_once_their_hour_ended_and_each_blob_is_returned_once(tmp_path):
    ten, eleven, twelve = (NOW.replace(hour=hour, minute=0) for hour in (10, 11, 12))
    log = _recorded(
        tmp_path,
        _item("a", ten + timedelta(minutes=5)),
        _item("b", twelve + timedelta(minutes=1)),  # this hour: not over yet
        _item("c", ten + timedelta(minutes=50)),
        _item("d", eleven + timedelta(minutes=7)),
    )
    found = notified_windows(log, cursor=START, tenants=DEMO_TENANTS, now=NOW, earliest=ten)
    assert [(w.tenant, w.window.start, w.content_ids) for w in found.ready] == [
        (TENANT.name, ten, ("a", "c")),
        (TENANT.name, eleven, ("d",)),
    ]
    assert found.cursor == NotificationCursor(after=4, waiting=(2,))
    assert NotificationCursor.decode(found.cursor.encode()) == found.cursor
    same_hour = notified_windows(
        log, cursor=found.cursor, tenants=DEMO_TENANTS, now=NOW, earliest=ten
    )
    assert (same_hour.ready, same_hour.cursor) == ((), found.cursor)
    assert _post(log, [_item("e", eleven + timedelta(minutes=9))]).status == 200
    later = notified_windows(
        log, cursor=found.cursor, tenants=DEMO_TENANTS, now=NOW + timedelta(hours=1), earliest=ten
    )
    assert [(w.window.start, w.content_ids) for w in later.ready] == [
        (eleven, ("e",)),
        (twelve, ("b",)),
    ]
    assert later.cursor == NotificationCursor(after=5, waiting=())


def test_unknown_tenants_and_windows_before_the_first_partition_are_ignored(tmp_path):
    stranger = "0b7c6d5e-4f3a-4b2c-9d1e-0f9e8d7c6b5a"
    log = _recorded(
        tmp_path,
        _item("a", NOW - timedelta(hours=3), tenant_id=stranger),
        _item("b", NOW - timedelta(days=3)),
    )
    found = notified_windows(
        log, cursor=START, tenants=DEMO_TENANTS, now=NOW, earliest=NOW - timedelta(days=1)
    )
    assert (found.ready, found.ignored, found.cursor.after) == ((), 2, 2)


def test_a_notified_content_uri_is_never_fetched_the_window_lands_from_its_listing(
    tmp_path, emulator, make_client
):
    """A notification is only a hint of which window to land: its contentUri (here another
    host's) is recorded but never requested; the run lists the window from the API itself."""

    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    log = NotificationLog(tmp_path / "webhook.sqlite3")
    client = make_client()
    client.start_subscription("Audit.Exchange")
    layout = DataLayout(tmp_path / "data")
    with watched_port() as (port, accepted):
        hostile = _item("planted", hour + timedelta(minutes=5))
        hostile["contentUri"] = f"https://127.0.0.1:{port}/api/v1.0/{TENANT.tenant_id}/x"
        assert _post(log, [hostile]).status == 200
        found = notified_windows(log, cursor=START, tenants=DEMO_TENANTS, now=now, earliest=hour)
        (notified,) = found.ready
        landing = land_window(
            client,
            layout,
            None,
            tenant=notified.tenant,
            content_type="Audit.Exchange",
            window=notified.window,
            clock=lambda: datetime.now(UTC),
        )
    assert accepted == []
    assert landing.ingest.ledger.status == "complete"
    landed = landing.ingest.write.path
    ids = set(pq.read_table(landed, columns=["Id"]).column("Id").to_pylist())
    truth = emulator.ground_truth(
        TENANT.tenant_id, "Audit.Exchange", notified.window.start, notified.window.end
    )
    assert ids == truth
