"""The real Zoom samples end to end: every meeting of the real recordings pages (tests/samples/zoom), with the
real chat files, transcripts and summaries, served by the Zoom emulator and captured by the real stage.

Each is archived whole, whatever shape Zoom gave it: every file it lists is in the record, every chat message
and transcript cue is in the bodies, the summary in the form Zoom gave, its time zone and span from the meeting.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from local.world import World
from shared.archiver import Archiver
from shared.message.reader import ArchivedMessage, read_message
from shared.records import MeetingRef, archive_key
from shared.settings import load_settings
from shared.transcript import read
from tests.conftest import emptied
from tests.corpus import corpus_seed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def archived(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ArchivedMessage]]:
    """Every corpus meeting captured: its archived message by UUID."""
    emptied(world)
    folder = tmp_path_factory.mktemp("corpus")
    seed = corpus_seed(folder)
    world.zoom.seed(seed, folder)
    archiver = Archiver(load_settings(world.app_settings(ARCHIVE_MIN_DURATION_MINUTES="0")))
    archiver.storage.ensure_created()
    messages = BlobServiceClient.from_connection_string(world.azurite.connection_string).get_container_client(
        "messages"
    )
    found = {}
    for meeting in seed["meetings"]:
        uuid = meeting["recording"]["uuid"]
        assert archiver.capture_meeting(MeetingRef(uuid)).status == "captured", uuid
        found[uuid] = read_message(messages.download_blob(f"{archive_key(uuid)}.eml").readall())
    yield found
    emptied(world)


def test_every_real_meeting_is_archived_with_every_file_zoom_lists(
    archived: dict[str, ArchivedMessage], tmp_path: Path
) -> None:
    seed = corpus_seed(tmp_path)
    assert len(archived) == len(seed["meetings"]) == 49
    for meeting in seed["meetings"]:
        record = archived[meeting["recording"]["uuid"]].record
        listed = meeting["recording"]["recording_files"]
        assert len(record.files) == len(listed) and record.missing == (), meeting["recording"]["uuid"]
        zero_or_none = [f for f in record.files if f.listed_size is None]
        assert all(not f.note for f in zero_or_none)  # no size listed (TIMELINE): nothing to disagree with


def test_a_real_meeting_recorded_late_ends_after_its_recording_not_at_start_plus_the_listed_duration(
    archived: dict[str, ArchivedMessage],
) -> None:
    (late,) = [m.record for m in archived.values() if m.record.start == datetime(2020, 10, 23, 15, 16, 54, tzinfo=UTC)]
    assert late.recording_minutes == 73 and late.start is not None and late.end is not None
    assert late.end - late.start == timedelta(hours=3, minutes=1, seconds=8)  # not 73 minutes
    assert (late.end_source, late.timezone, late.timezone_source) == ("recordings", "America/Los_Angeles", "meeting")


def test_the_real_instant_meetings_without_a_time_zone_are_shown_in_their_hosts(
    archived: dict[str, ArchivedMessage],
) -> None:
    instant = [m for m in archived.values() if m.record.type == 1]
    assert len(instant) == 30
    assert {(m.record.timezone, m.record.timezone_source) for m in instant} == {("America/Los_Angeles", "host")}
    said = "America/Los_Angeles (the host's: Zoom names none for the meeting)"
    assert all(said in html.unescape(m.html) for m in instant)


def test_every_message_of_each_real_chat_and_every_cue_of_each_transcript_is_in_the_bodies(
    archived: dict[str, ArchivedMessage],
) -> None:
    shown = 0
    for message in archived.values():
        for attachment in message.attachments:
            kind = {"txt": "CHAT", "vtt": "TRANSCRIPT"}.get(attachment.filename.rsplit(".", 1)[-1])
            if kind is None:
                continue
            said = read(kind, io.BytesIO(attachment.data)).utterances
            rows = message.html.count("<tr>")
            assert rows >= len(said), attachment.filename
            page = html.unescape(message.html)
            for utterance in said[:: max(1, len(said) // 20)]:  # a sample of lines: who, and what they said
                assert utterance.speaker in page and utterance.text.split("\n")[0].strip() in page
            shown += len(said)
    assert shown > 2000


def test_each_form_of_the_real_summaries_is_kept_whole_and_shown(archived: dict[str, ArchivedMessage]) -> None:
    summaries = [m for m in archived.values() if m.record.summary]
    assert len(summaries) == 49
    forms = {
        ("markdown" if m.record.summary.content else "older" if m.record.summary.overview else "title only")
        for m in summaries
        if m.record.summary
    }
    assert forms == {"markdown", "older", "title only"}
    markdown = next(m for m in summaries if m.record.summary and m.record.summary.doc_url)
    assert "<h2>Key takeaways</h2>" in markdown.html and markdown.record.summary is not None
    assert markdown.record.summary.doc_url in markdown.html
    empty = next(m for m in summaries if m.record.summary and m.record.summary.title.endswith("Introductory Chat"))
    assert "Zoom gives this summary a title but no text." in empty.html
