"""End to end: a Zoom account's meetings land as items in Microsoft 365 mailboxes, through the local host.

Each test seeds both emulators, runs `python -m local.host --once` against Azurite, then looks at the
mailboxes through ordinary Graph calls.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from local.world import World
from shared.mailbox import ARCHIVE_KEY_PROPERTY
from shared.message.reader import read_message
from shared.message.record import RECORD_FILENAME
from shared.message.text import header_text
from shared.records import archive_key
from shared.state import mailbox_row
from tests.tenant import File, GraphReader, Tenant

pytestmark = pytest.mark.integration

MB = 1024 * 1024


def run(world: World, **settings: str) -> str:
    result = world.run_host(world.app_settings(**settings))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_each_meeting_arrives_once_in_every_internal_participants_mailbox(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    dan = tenant.person("Dan Diaz", status="inactive")
    guest = tenant.person("Grace Guest", domain="fabrikam.example", zoom=False)
    chat = b"00:01:02\tAlice Archer:\tHello <b>all</b>\r\n00:02:03\tBob Baker:\tHi!\r\n"
    video = os.urandom(5 * MB + 123)  # over 3 MB: goes to the mailbox through an upload session
    planning = tenant.meeting(
        alice,
        "Planning",
        attendees=[(alice, 0, 30), (bob, 1, 10), (bob, 12, 30), (guest, 2, 20)],
        files=[File("MP4", video), File("CHAT", chat), File("TIMELINE", b'{"timeline": []}', with_id=False)],
    )
    slashed = tenant.meeting(bob, "Vendor review", uuid="/ajXp112QmuoKj4854875==", attendees=[(bob, 0, 20)])
    handover = tenant.meeting(dan, "Handover", attendees=[(dan, 0, 20), (alice, 0, 20)], days_ago=5)
    tenant.apply(fresh)

    run(fresh)

    graph = GraphReader(fresh)
    expected = {alice: [planning, handover], bob: [planning, slashed], dan: [handover]}
    for person, meetings in expected.items():
        folder = graph.folder(person)
        assert folder, f"{person.name} has no Inbox/Zoom Meetings"
        items = graph.items(person, folder)
        assert sorted(i["subject"].split(" - ")[0] for i in items) == sorted(m.topic for m in meetings)
        for meeting in meetings:
            (item,) = [i for i in items if i["subject"].startswith(meeting.topic + " - ")]
            assert item["isDraft"] is False
            assert datetime.fromisoformat(item["sentDateTime"].replace("Z", "+00:00")) == meeting.start
            assert datetime.fromisoformat(item["receivedDateTime"].replace("Z", "+00:00")) == meeting.start
            assert item["internetMessageId"] == f"<{archive_key(meeting.uuid)}@zoom-archiver.invalid>"
            assert RECORD_FILENAME in {a["name"] for a in item["attachments"]}
            names = {a["name"]: a for a in item["attachments"] if a["name"] != RECORD_FILENAME}
            for zoom_file in meeting.files:
                (attachment,) = [a for n, a in names.items() if n.endswith(_extension(zoom_file))]
                data = graph.get(
                    f"/users/{person.graph_id}/messages/{item['id']}/attachments/{attachment['id']}/$value"
                ).content
                assert data == zoom_file.content, f"{attachment['name']} differs from the Zoom file"
    lookups = [r["path"] + "?" + unquote_plus(r["query"]) for r in fresh.graph.requests()]
    assert not [r for r in lookups if "fabrikam" in r], "an external guest must never be looked up in the tenant"

    uploads = [r for r in fresh.graph.requests() if r["path"].startswith("/upload/")]
    assert uploads and not any(r["authorization"] for r in uploads)

    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    deliveries = list(tables.get_table_client("deliveries").list_entities())
    for person, meetings in expected.items():
        for meeting in meetings:
            row = [
                d
                for d in deliveries
                if d["PartitionKey"] == archive_key(meeting.uuid) and d["RowKey"] == mailbox_row(person.email)
            ]
            assert len(row) == 1 and row[0]["status"] == "imported"
    unmapped = [d for d in deliveries if d["status"] == "unmapped"]
    assert [(d["participant_email"], d["reason"]) for d in unmapped] == [("grace@fabrikam.example", "external")]

    # A second run finds everything archived: no new item anywhere.
    fresh.graph.clear_requests()
    run(fresh)
    for person, meetings in expected.items():
        assert len(graph.items(person, graph.folder(person))) == len(meetings)
    assert not [r for r in fresh.graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages")]


def test_the_double_encoded_uuid_is_what_reaches_zoom(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    tenant.meeting(bob, "Slashes", uuid="Kq8e//Zp0QmXXn3WjP7Kzw==", attendees=[(bob, 0, 30), (alice, 0, 30)])
    tenant.apply(fresh)

    run(fresh)

    paths = [r["path"] for r in fresh.zoom.requests()]
    assert "/v2/past_meetings/Kq8e%252F%252FZp0QmXXn3WjP7Kzw%253D%253D/participants" in paths
    assert "/v2/meetings/Kq8e%252F%252FZp0QmXXn3WjP7Kzw%253D%253D/recordings" in paths


def test_an_item_already_in_the_mailbox_is_not_created_again(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    meeting = tenant.meeting(alice, "Once only")
    tenant.apply(fresh)
    run(fresh)
    graph = GraphReader(fresh)
    folder = graph.folder(alice)
    (item,) = graph.items(alice, folder)

    # The state says nothing was delivered (say it was lost), yet the mailbox holds the item.
    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    tables.get_table_client("deliveries").delete_entity(archive_key(meeting.uuid), mailbox_row(alice.email))
    hosts = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client(
        "azure-webjobs-hosts"
    )
    for receipt in hosts.list_blobs():
        hosts.delete_blob(receipt.name)  # the blob trigger runs again

    run(fresh)

    assert [i["id"] for i in graph.items(alice, folder)] == [item["id"]]
    rows = list(tables.get_table_client("deliveries").list_entities())
    assert [r["status"] for r in rows] == ["duplicate"]
    lookups = [r for r in fresh.graph.requests() if "singleValueExtendedProperties" in r["query"]]
    assert lookups, "the importer must look for the archive key before creating"
    assert ARCHIVE_KEY_PROPERTY.split()[1].strip("{}") in unquote_plus(lookups[-1]["query"])


def test_a_recording_over_max_message_size_is_stored_at_capture_and_linked(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    big = os.urandom(3 * MB)
    tenant.meeting(alice, "Long recording", files=[File("MP4", big), File("CHAT", b"00:00:01\tA:\thi\r\n")])
    tenant.apply(fresh)

    run(fresh, MAX_MESSAGE_SIZE_MB="2")

    graph = GraphReader(fresh)
    (item,) = graph.items(alice, graph.folder(alice))
    names = [a["name"] for a in item["attachments"]]
    assert not any(n.endswith(".mp4") for n in names)
    assert any(n.endswith(".txt") for n in names)
    digest = hashlib.sha256(big).hexdigest()
    body = item["body"]["content"]
    stored = BlobServiceClient.from_connection_string(fresh.azurite.connection_string).get_container_client(
        "recordings"
    )
    assert stored.get_blob_client(f"{digest}.mp4").url in body, "the body names the blob fully: account and all"
    assert "<th>Storage account</th><td>devstoreaccount1</td>" in body and f"--name {digest}.mp4" in body
    assert stored.download_blob(f"{digest}.mp4").readall() == big


def test_names_and_topics_in_any_script_reach_graph_as_zoom_gave_them(fresh: World, tenant: Tenant) -> None:
    """Zoom's names and topic go through the message (RFC 2047 headers), the blob, the importer's read and the
    Graph JSON create, and come back from Graph as Zoom gave them: only controls and characters that would
    reorder the text are gone. (They once came back as surrogate escapes, JSON that is not Unicode.)"""
    names = {
        "José Müller": "jose",
        "山田 太郎 会議室の担当者": "taro",
        "Дмитрий Иванов": "dmitry",
        "محمد علي": "mohammed",
        "Zoë 👩\u200d💻 Ångström": "zoe",
        "Ali \u202egnp.exe\u202c Khan": "ali",
        'O\'Brien, "Jr" \\ <boss@evil.example>': "obrien",
        "=?utf-8?q?Fake_CEO?=": "ceo",
    }
    people = [tenant.person(name, email=f"{local}@contoso.example") for name, local in names.items()]
    host = people[0]
    topic = "Réunion 会議 — Планёрка \u202eevil\u202c =?utf-8?q?x?= " + "長い議題 " * 12
    tenant.meeting(host, topic, attendees=[(p, 0, 30) for p in people], files=[File("CHAT", b"00:00:01\tA:\thi\r\n")])
    tenant.apply(fresh)

    run(fresh)

    graph = GraphReader(fresh)
    expected = [header_text(name, 100) for name in names]
    assert expected[5] == "Ali gnp.exe Khan" and expected[4] == "Zoë 👩\u200d💻 Ångström"
    for person in people:
        (item,) = graph.items(person, graph.folder(person))
        assert item["subject"] == read_message(_blob(fresh)).subject
        assert item["subject"].startswith(header_text(topic, 160) + " - Zoom meeting ")
        assert item["from"]["emailAddress"] == {"name": expected[0], "address": host.email}
        to = {r["emailAddress"]["address"]: r["emailAddress"]["name"] for r in item["toRecipients"]}
        assert to == {p.email: name for p, name in zip(people, expected, strict=True)}


def _blob(world: World) -> bytes:
    messages = BlobServiceClient.from_connection_string(world.azurite.connection_string).get_container_client(
        "messages"
    )
    (blob,) = list(messages.list_blobs())
    assert blob.content_settings.content_type == "message/rfc822"
    data = messages.download_blob(blob.name).readall()
    assert data.isascii(), "message/rfc822 holds 7-bit text: any other script is encoded"
    return data


def _extension(file: File) -> str:
    return {"MP4": ".mp4", "CHAT": ".txt", "TIMELINE": ".json", "M4A": ".m4a", "TRANSCRIPT": ".vtt"}[file.file_type]


def test_a_participant_is_mapped_by_their_zoom_user_id_from_the_mapping_file(
    fresh: World, tenant: Tenant, tmp_path: Path
) -> None:
    alice = tenant.person("Alice Archer")
    old_bob = tenant.person("Bob Baker", domain="contoso-old.example")  # his Zoom account: an old, external domain
    bob = tenant.person("Robert Baker", zoom=False)
    meeting = tenant.meeting(alice, "Mapped by Zoom id", attendees=[(alice, 0, 30), (old_bob, 0, 30)])
    tenant.apply(fresh)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(f"zoom_user,microsoft_365_address\n{old_bob.zoom_id},{bob.email}\n")

    run(fresh, USER_MAPPING_FILE=str(mapping))

    graph = GraphReader(fresh)
    (item,) = graph.items(bob, graph.folder(bob))
    assert item["subject"].startswith(meeting.topic + " - ")
