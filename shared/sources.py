"""Where an archived meeting comes from: Zoom's cloud recording of it, its compliance archive (with the
archives of its breakout rooms) and its details, read for one instance and put together as one record.

A meeting several sources have is archived once, keyed by its UUID: its facts come from the cloud recording
when it has one, else from its details (GET /past_meetings/{uuid}), else from its archive; its files are
those of every source, each saying which source listed it and, for a breakout room's, which room. The
sources enabled (`ZOOM_SOURCES`) decide which APIs are asked; a source without the meeting has nothing (what a
meeting no source has is, the capture decides: shared/capture.py).
(Facts: ../shared/reference/zoom-api.md §2.4, §2.5, §2.8.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

from shared.archived_json import MEMBER_LOG, read_member_log
from shared.records import (
    BreakoutRoom,
    CapturedFile,
    Meeting,
    Participant,
    RecordingFile,
    Session,
    as_int,
    as_list,
    is_internal,
)
from shared.settings import ARCHIVING, MEETINGS, RECORDINGS
from shared.zoom import ZoomClient

FACTS = ("uuid", "id", "host_id", "topic", "type", "start_time")


@dataclass(frozen=True)
class Found:
    """What the enabled sources have of one instance (None or empty where a source has nothing)."""

    uuid: str
    recording: dict[str, Any] | None  # GET /meetings/{uuid}/recordings
    archive: dict[str, Any] | None  # GET /past_meetings/{uuid}/archive_files
    room_archives: tuple[dict[str, Any], ...] = ()  # the same, of each of its breakout rooms
    details: dict[str, Any] | None = None  # GET /past_meetings/{uuid} (a webinar's report): the capture adds it

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources that have the meeting, in the order of `settings.SOURCES`."""
        has = {RECORDINGS: self.recording, ARCHIVING: self.archive or self.room_archives, MEETINGS: self.details}
        return tuple(source for source, found in has.items() if found)

    @property
    def still_archiving(self) -> bool:
        """Zoom's archive of the meeting or of one of its rooms is not complete: more files may come."""
        archives = [self.archive, *self.room_archives]
        return any(archive and archive.get("status") == "processing" for archive in archives)

    def facts(self) -> dict[str, Any]:
        """The instance's facts in the shape of a recording (for `Meeting.from_zoom`): from the recording, else
        the details, else the archive (the capture falls back to the host's time zone when none names one)."""
        picked: dict[str, Any] = {"uuid": self.uuid}
        for source in (self.recording, self.details, self.archive):
            for name in FACTS:
                if picked.get(name) in (None, "") and (source or {}).get(name) not in (None, ""):
                    picked[name] = source[name]
        archive = self.archive or {}
        seconds = as_int(archive.get("duration_in_second"))
        minutes = (self.recording or {}).get("duration") or (self.details or {}).get("duration")
        picked["duration"] = as_int(minutes) if minutes not in (None, "") else math.ceil(seconds / 60)
        zone = (self.recording or {}).get("timezone") or archive.get("timezone")
        return {**picked, **({"timezone": zone} if zone else {}), "recording_files": []}

    def files(self) -> tuple[RecordingFile, ...]:
        """Every file of every source: the recording's (its participant audio too), the archive's, then each
        breakout room's, in the rooms' order."""
        recording = self.recording or {}
        items = as_list(recording.get("recording_files")) + as_list(recording.get("participant_audio_files"))
        files = [RecordingFile.from_zoom(item, self.uuid) for item in items if isinstance(item, dict)]
        for archive, room in [(self.archive, ""), *((r, str(r.get("uuid") or "")) for r in self.room_archives)]:
            for item in as_list((archive or {}).get("archive_files")):
                if isinstance(item, dict):
                    files.append(RecordingFile.from_archive(item, self.uuid, room))
        return tuple(files)

    def rooms(self) -> tuple[BreakoutRoom, ...]:
        """The breakout rooms, by start; a room the archive names no differently from its meeting is numbered."""
        rooms = sorted(
            (BreakoutRoom.from_archive(a) for a in self.room_archives),
            key=lambda r: (r.start is None, r.start, r.uuid),
        )
        topic = str(self.facts().get("topic") or "")
        return tuple(
            room if room.name and room.name != topic else BreakoutRoom(room.uuid, f"Room {n}", room.start, room.end)
            for n, room in enumerate(rooms, 1)
        )


class Sources:
    """The enabled sources of one archive, read through the Zoom client."""

    def __init__(self, zoom: ZoomClient, enabled: tuple[str, ...]):
        self.zoom = zoom
        self.enabled = enabled

    def find(self, uuid: str, rooms: Iterable[str] = ()) -> Found:
        """The instance in every enabled source, and the archives of the breakout rooms named (Light calls)."""
        recording = self.zoom.recording(uuid) if RECORDINGS in self.enabled else None
        archive, room_archives = None, ()
        if ARCHIVING in self.enabled:
            archive = self.zoom.archive(uuid)
            room_archives = tuple(found for found in (self.zoom.archive(room) for room in rooms) if found)
        return Found(uuid, recording, archive, room_archives)


def archive_people(
    participants: tuple[Participant, ...], files: Iterable[RecordingFile], domains: tuple[str, ...]
) -> tuple[Participant, ...]:
    """The participants, and the people whose individual archive recordings the meeting (or one of its breakout
    rooms) has but Zoom's participant list does not name, each with the recording's join and leave times."""
    known = {p.email.strip().lower() for p in participants if p.email}
    added: dict[str, Participant] = {}
    for file in files:
        email = file.participant.strip()
        if not email or email.lower() in known:
            continue
        seconds = int((file.end - file.start).total_seconds()) if file.start and file.end else 0
        session = Session(file.start, file.end, seconds)
        before = added.get(email.lower())
        sessions = (*before.sessions, session) if before else (session,)
        added[email.lower()] = Participant("", email, is_internal(email, domains), tuple(sorted(sessions, key=_when)))
    return (*participants, *added.values())


def subgroup_members(
    meeting: Meeting,
    logs: Iterable[CapturedFile],
    open_file: Callable[[CapturedFile], BinaryIO],
    domains: tuple[str, ...],
) -> Meeting:
    """The meeting with the people its member logs name and its participants do not (the members of its backstage
    and private chat groups, of the meeting or of a breakout room): they get the meeting's item. They are listed
    without sessions: the logs' times are the subgroups'."""
    known = {p.email.strip().lower() for p in meeting.participants if p.email}
    added = []
    for captured in logs:
        if captured.file.file_type != MEMBER_LOG:
            continue
        with open_file(captured) as stream:
            log = read_member_log(stream)
        for email in log.emails:
            if email.lower() not in known:
                known.add(email.lower())
                added.append(Participant("", email, is_internal(email, domains), ()))
    return replace(meeting, participants=(*meeting.participants, *added)) if added else meeting


def _when(session: Session) -> datetime:
    return session.join_time or datetime.max.replace(tzinfo=UTC)
