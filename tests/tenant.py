"""Build a Zoom account and a Microsoft 365 tenant for a test, in the services' own wire shapes.

A test names the people and meetings it needs; `Tenant` writes both emulator seeds (Zoom users,
recordings, participants and file contents; Graph users with or without a mailbox) and remembers what
each mailbox should end up with.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from emulators.graph.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from local.messages import archived_message
from local.world import ORGANIZATION_DOMAIN, ZOOM_ACCOUNT_ID, EmulatorProcess, World
from shared import records
from shared.zoom import encode_uuid

TENANT_ID = "00000000-0000-4000-8000-0000000000aa"
EXTENSIONS = {"MP4": "MP4", "M4A": "M4A", "CHAT": "TXT", "TRANSCRIPT": "VTT", "CC": "VTT", "TIMELINE": "JSON"}
RECORDING_TYPES = {
    "MP4": "shared_screen_with_speaker_view",
    "M4A": "audio_only",
    "CHAT": "chat_file",
    "TRANSCRIPT": "audio_transcript",
}
# Archive files (GET /archive_files): their extension and recording_type by file_type, as the spec's enums pair
# them; TRANSCRIPT is "a JSON file", and the spec names no recording_type for a SUB_GROUP_MEMBER_LOG.
ARCHIVE_EXTENSIONS = {
    "MP4": "MP4",
    "M4A": "M4A",
    "CHAT": "TXT",
    "CC": "VTT",
    "CHAT_MESSAGE": "JSON",
    "TRANSCRIPT": "JSON",
    "SUB_GROUP_MEMBER_LOG": "JSON",
}
ARCHIVE_RECORDING_TYPES = {
    "MP4": "shared_screen_with_speaker_view",
    "M4A": "audio_only",
    "CHAT": "chat_file",
    "CC": "closed_caption",
    "CHAT_MESSAGE": "chat_message",
    "TRANSCRIPT": "audio_transcript",
    "SUB_GROUP_MEMBER_LOG": "",
}
BREAKOUT_ROOM = 100  # the archive `type` of a breakout room

# Poll results, Q&A and an AI summary in Zoom's wire shapes, for a test meeting's `polls`, `qa` and `summary`.
POLLS = [
    {
        "name": "Bob Baker",
        "email": "bob@contoso.example",
        "question_details": [
            {"question": "Ship it?", "answer": "Yes", "polling_id": "p1", "date_time": "2026-03-02T10:05:00Z"}
        ],
    }
]
QA = [{"name": "Guest", "email": "", "question_details": [{"question": "Recorded?", "answer": "live answered"}]}]
SUMMARY = {
    "summary_title": "Meeting summary for Planning",
    "summary_overview": "Budget agreed.",
    "summary_details": [{"label": "Budget", "summary": "Approved."}],
    "next_steps": ["Alice sends the plan"],
    "edited_summary": {"summary_overview": "Budget agreed.", "summary_details": "Approved.", "next_steps": []},
}


def zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(eq=False)
class Person:
    name: str
    email: str
    zoom_id: str = ""
    graph_id: str = ""
    mailbox: bool = True


@dataclass
class File:
    file_type: str
    content: bytes | None  # None: the emulator generates `declared_size` bytes (a large recording)
    with_id: bool = True
    declared_size: int | None = None  # what Zoom lists, if not the true size
    status: str = "completed"
    fingerprint: str = ""  # the SHA-256 Zoom states, when it states one
    processing: bool = False  # listed as Zoom lists a file it has not finished: empty type, size 0
    participant_audio: bool = False  # one participant's audio (participant_audio_files)

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.content or b"")


def member_log(*emails: str) -> bytes:
    """A SUB_GROUP_MEMBER_LOG file as Zoom's Archived JSON schemas page documents it: one private chat group."""
    actions = [{"email": email, "joinTime": "00:01:00", "leaveTime": "00:09:00"} for email in emails]
    group = {"id": "g1", "createTime": "00:01:00", "deleteTime": "00:09:00", "actions": actions}
    return json.dumps({"archiving_start_time": "2026-03-02T10:00:00Z", "private_group": [group]}).encode()


@dataclass
class ArchiveFile:
    """A file of Zoom's compliance archiving (GET /archive_files)."""

    file_type: str
    content: bytes | None  # None: the emulator generates `declared_size` bytes
    status: str = "completed"  # or processing, failed
    participant: Person | None = None  # an individual file: this participant's recording
    fingerprint: str | None = None  # the SHA-256 Zoom states; None: the content's own
    declared_size: int | None = None
    id: str = field(default_factory=lambda: str(uuidlib.uuid4()))

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.content or b"")


@dataclass
class Meeting:
    uuid: str
    meeting_id: int
    topic: str
    host: Person
    start: datetime
    minutes: int
    attendees: list[tuple[Person, int, int]]  # person, join and leave as minutes after the start
    files: list[File]
    kind: int = 2  # Zoom's meeting type: 1 instant, 2 scheduled, 8 recurring; 5, 6, 9 are webinars
    polls: list[dict[str, Any]] = field(default_factory=list)  # "questions" items, in Zoom's shape
    qa: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None  # the summary fields of GET /meetings/{uuid}/meeting_summary
    recording: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # more recording fields, e.g. auto_delete_date
    recorded: tuple[int, int] | None = None  # recording's start and end, minutes after the meeting's: all of it
    timezone: str = "Europe/London"  # the recording's `timezone` ("" as Zoom gives instant meetings)
    rows: list[dict[str, Any]] | None = None  # Zoom's participant rows as they are, instead of the attendees'
    cloud_recording: bool = True  # has a cloud recording (of `files`)
    archive: list[ArchiveFile] | None = None  # what Zoom's archiving has of it, if anything
    archive_status: str = "completed"  # or processing
    parent: Meeting | None = None  # set for a breakout room: the meeting it belongs to

    @property
    def uuid_path(self) -> str:
        """The UUID as it appears in a request path (encoded twice when Zoom requires it)."""
        return encode_uuid(self.uuid)


class Tenant:
    def __init__(self, folder: Path):
        self.folder = folder
        self.people: list[Person] = []
        self.zoom_users: list[dict[str, Any]] = []
        self.graph_users: list[dict[str, Any]] = []
        self.meetings: list[Meeting] = []

    def person(
        self,
        name: str,
        *,
        domain: str = ORGANIZATION_DOMAIN,
        zoom: bool = True,
        status: str = "active",
        mailbox: bool = True,
        graph: bool = True,
        upn: str = "",
        aliases: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
        timezone: str = "Europe/London",
        email: str = "",
    ) -> Person:
        email = email or f"{name.split()[0].lower()}@{domain}"
        person = Person(name, email, mailbox=mailbox)
        if zoom:
            person.zoom_id = "z" + uuidlib.uuid4().hex[:21]
            first, _, last = name.partition(" ")
            self.zoom_users.append(
                {
                    "id": person.zoom_id,
                    "first_name": first,
                    "last_name": last,
                    "display_name": name,
                    "email": email,
                    "type": 2,
                    "pmi": 8000000000 + len(self.zoom_users),
                    "timezone": timezone,
                    "verified": 1,
                    "dept": "",
                    "created_at": "2024-01-01T00:00:00Z",
                    "user_created_at": "2024-01-01T00:00:00Z",
                    "last_login_time": "2026-01-01T00:00:00Z",
                    "language": "en-US",
                    "status": status,
                    "role_id": "2",
                    "group_ids": list(groups),
                }
            )
        if graph and domain == ORGANIZATION_DOMAIN:
            person.graph_id = str(uuidlib.uuid4())
            principal = upn or email
            self.graph_users.append(
                {
                    "id": person.graph_id,
                    "displayName": name,
                    "userPrincipalName": principal,
                    "mail": principal,
                    "proxyAddresses": [f"SMTP:{principal}", *(f"smtp:{a}" for a in aliases)],
                    "mailbox": mailbox,
                }
            )
        self.people.append(person)
        return person

    def meeting(
        self,
        host: Person,
        topic: str,
        *,
        attendees: list[tuple[Person, int, int]] | None = None,
        files: list[File] | None = None,
        days_ago: int = 2,
        minutes: int = 30,
        uuid: str = "",
        meeting_id: int = 0,
        kind: int = 2,
        cloud_recording: bool = True,
        archive: list[ArchiveFile] | None = None,
    ) -> Meeting:
        start = (datetime.now(UTC) - timedelta(days=days_ago)).replace(hour=10, minute=0, second=0, microsecond=0)
        meeting = Meeting(
            uuid=uuid or _zoom_uuid(),
            meeting_id=meeting_id or 85000000000 + len(self.meetings),
            topic=topic,
            host=host,
            start=start,
            minutes=minutes,
            attendees=attendees if attendees is not None else [(host, 0, minutes)],
            files=files if files is not None else ([File("MP4", os.urandom(1000))] if cloud_recording else []),
            kind=kind,
            cloud_recording=cloud_recording,
            archive=archive,
        )
        self.meetings.append(meeting)
        return meeting

    def breakout_room(
        self,
        parent: Meeting,
        topic: str,
        *,
        attendees: list[tuple[Person, int, int]],
        archive: list[ArchiveFile],
        after: int = 5,
        minutes: int = 15,
    ) -> Meeting:
        """A breakout room of `parent`, opened `after` minutes into it: an instance only archiving has."""
        room = Meeting(
            uuid=_zoom_uuid(),
            meeting_id=parent.meeting_id,
            topic=topic,
            host=parent.host,
            start=parent.start + timedelta(minutes=after),
            minutes=minutes,
            attendees=attendees,
            files=[],
            kind=BREAKOUT_ROOM,
            cloud_recording=False,
            archive=archive,
            parent=parent,
        )
        self.meetings.append(room)
        return room

    def zoom_seed(self) -> dict[str, Any]:
        entries = []
        for index, m in enumerate(self.meetings):
            end = m.start + timedelta(minutes=m.minutes)
            first, last = m.recorded or (0, m.minutes)
            recording_start, recording_end = m.start + timedelta(minutes=first), m.start + timedelta(minutes=last)
            files, audio, contents = [], [], {}
            for number, f in enumerate(m.files):
                item = {
                    "meeting_id": m.uuid,
                    "recording_start": zoom_time(recording_start),
                    "recording_end": zoom_time(recording_end),
                    "file_type": f.file_type,
                    "file_extension": EXTENSIONS.get(f.file_type, ""),
                    "download_url": "https://zoom.us/rec/download/placeholder",
                }
                key = f.file_type
                if f.with_id:
                    key = str(uuidlib.uuid4())
                    item.update(
                        id=key,
                        file_size=f.size,
                        play_url="https://zoom.us/rec/play/x",
                        status=f.status,
                        recording_type=RECORDING_TYPES.get(f.file_type, ""),
                    )
                if f.fingerprint:
                    item["encryption_fingerprint"] = f.fingerprint
                if f.processing:
                    item.update(file_type="", file_extension="", recording_end="", file_size=0)
                    del item["status"]
                if f.participant_audio:
                    item["file_name"] = f"Audio of participant {number}"
                    del item["recording_type"]
                (audio if f.participant_audio else files).append(item)
                if f.content is not None:
                    path = self.folder / f"meeting{index}-file{number}.{EXTENSIONS.get(f.file_type, 'BIN').lower()}"
                    path.write_bytes(f.content)
                    contents[key] = path.name
            m.recording = {
                "uuid": m.uuid,
                "id": m.meeting_id,
                "account_id": ZOOM_ACCOUNT_ID,
                "host_id": m.host.zoom_id,
                "topic": m.topic,
                "type": m.kind,
                "start_time": zoom_time(m.start),
                "timezone": m.timezone,
                "duration": last - first,  # what was recorded: Zoom's listing has no other duration
                "total_size": sum(f.size for f in m.files),
                "recording_count": len(files),
                "share_url": "https://zoom.us/rec/share/x",
                "recording_files": files,
                **({"participant_audio_files": audio} if audio else {}),
                **m.extra,
            }
            participants = [
                {
                    "id": p.zoom_id,
                    "name": p.name,
                    "user_id": str(10000 + n),
                    "user_email": p.email,
                    "join_time": zoom_time(m.start + timedelta(minutes=join)),
                    "leave_time": zoom_time(m.start + timedelta(minutes=leave)),
                    "duration": (leave - join) * 60,
                    "failover": False,
                    "status": "in_meeting",
                    "internal_user": p.email.endswith(ORGANIZATION_DOMAIN),
                }
                for n, (p, join, leave) in enumerate(m.attendees)
            ]
            entry: dict[str, Any] = {}
            if m.cloud_recording:
                entry["recording"] = m.recording
            if m.archive is not None:
                entry["archive"] = self._archive(m, index, contents)
            served = participants if m.rows is None else m.rows
            entries.append(
                {
                    **entry,
                    "participants": served,
                    "polls": m.polls,
                    "qa": m.qa,
                    "summary": m.summary,
                    "details": {  # a meeting neither recorded nor archived is known by them alone
                        "uuid": m.uuid,
                        "id": m.meeting_id,
                        "duration": m.minutes,
                        "start_time": zoom_time(m.start),
                        "end_time": zoom_time(end),
                        "host_id": m.host.zoom_id,
                        "participants_count": len({r["user_email"] or r["name"] for r in served}),
                        "topic": m.topic,
                        "type": m.kind,
                        "user_email": m.host.email,
                        "user_name": m.host.name,
                    },
                    "files": contents,
                }
            )
        return {"account_id": ZOOM_ACCOUNT_ID, "users": self.zoom_users, "meetings": entries}

    def _archive(self, m: Meeting, index: int, contents: dict[str, str]) -> dict[str, Any]:
        """The meeting's item of GET /archive_files; content files are written beside the seed."""
        end = m.start + timedelta(minutes=m.minutes)
        files = []
        for number, f in enumerate(m.archive or []):
            extension = ARCHIVE_EXTENSIONS.get(f.file_type, "JSON")
            joined = [(j, left) for p, j, left in m.attendees if p is f.participant]
            join, leave = joined[0] if joined else (0, m.minutes)
            item = {
                "id": f.id,
                "file_type": f.file_type,
                "file_extension": extension,
                "file_size": f.size,
                "download_url": "https://zoom.us/rec/archive/download/placeholder",
                "status": f.status,
                "recording_type": ARCHIVE_RECORDING_TYPES.get(f.file_type, ""),
                "individual": f.participant is not None,
                "participant_join_time": zoom_time(m.start + timedelta(minutes=join)),
                "participant_leave_time": zoom_time(m.start + timedelta(minutes=leave)),
                "encryption_fingerprint": f.fingerprint
                if f.fingerprint is not None
                else hashlib.sha256(f.content or b"").hexdigest(),
                "storage_location": "US",
                "auto_delete": False,
                **({"participant_email": f.participant.email} if f.participant else {}),
                **({"number_of_messages": 1} if extension in ("JSON", "TXT") else {}),
            }
            files.append(item)
            if f.content is not None:
                path = self.folder / f"meeting{index}-archive{number}.{extension.lower()}"
                path.write_bytes(f.content)
                contents[f.id] = path.name
        return {
            "uuid": m.uuid,
            "id": m.meeting_id,
            "account_name": "Contoso",
            "host_id": m.host.zoom_id,
            "topic": m.topic,
            "type": m.kind,
            "start_time": zoom_time(m.start),
            "timezone": "Europe/London",
            "duration": m.minutes,
            "duration_in_second": m.minutes * 60,
            "total_size": sum(f.size for f in m.archive or []),
            "recording_count": len(files),
            "meeting_type": "internal",
            "is_breakout_room": m.parent is not None,
            **({"parent_meeting_id": m.parent.uuid} if m.parent else {}),
            "complete_time": zoom_time(end + timedelta(minutes=5)) if m.archive_status == "completed" else "",
            "status": m.archive_status,
            "group_id": "",
            "archive_files": files,
        }

    def graph_seed(self) -> dict[str, Any]:
        return {"tenant_id": TENANT_ID, "users": self.graph_users}

    def apply(self, world: World, zoom: EmulatorProcess | None = None) -> None:
        """Seed the world's emulators (or, for Zoom, another emulator a test started)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (zoom or world.zoom).seed(self.zoom_seed(), self.folder)
        world.graph.seed(self.graph_seed())

    def apply_before(self, world: World, file_type: str) -> dict[str, Any]:
        """Seed the world as Zoom is before it has finished the files of this type (a transcript, say);
        returns the seed of when it has, to seed later (the same file ids)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        complete = self.zoom_seed()
        early = copy.deepcopy(complete)
        for meeting in early["meetings"]:
            files = meeting["recording"]["recording_files"]
            meeting["recording"]["recording_files"] = [f for f in files if f["file_type"] != file_type]
        world.zoom.seed(early, self.folder)
        world.graph.seed(self.graph_seed())
        return complete

    def mailbox(self, person: Person, **options: Any) -> None:
        """Set the Graph emulator's options of a person's mailbox: maxMessageSizeMb, quotaExceeded, accessDenied."""
        (user,) = [u for u in self.graph_users if u["id"] == person.graph_id]
        user.update(options)


def _zoom_uuid() -> str:
    import base64

    return base64.b64encode(os.urandom(16)).decode()


class GraphReader:
    """Reads mailboxes through ordinary Graph calls to the emulator, as an administrator would."""

    def __init__(self, world: World):
        self.world = world
        self.http = world.graph.http
        token = self.http.post(
            f"{world.graph.url}/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=10,
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def get(self, path: str, **params: str) -> requests.Response:
        return self.http.get(f"{self.world.graph.url}/v1.0{path}", params=params, headers=self.headers, timeout=30)

    def folder(self, person: Person, name: str = "Zoom Meetings") -> str | None:
        found = self.get(
            f"/users/{person.graph_id}/mailFolders/inbox/childFolders", **{"$filter": f"displayName eq '{name}'"}
        ).json()["value"]
        return found[0]["id"] if found else None

    def items(self, person: Person, folder_id: str) -> list[dict[str, Any]]:
        response = self.get(
            f"/users/{person.graph_id}/mailFolders/{folder_id}/messages", **{"$top": "1000", "$expand": "attachments"}
        )
        response.raise_for_status()
        return response.json()["value"]


def archived(
    host: Person, *others: Person, topic: str = "Weekly sync", files: Sequence[tuple[str, bytes]] = ()
) -> bytes:
    """The archived message of a meeting `host` held with `others` two days ago, as the capture stage writes it;
    `files` are (Zoom file type, content) pairs."""
    start = (datetime.now(UTC) - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    return archived_message(
        uuid=_zoom_uuid(),
        topic=topic,
        start=start,
        host=records.Person(host.name, host.email),
        host_id=host.zoom_id,
        participants=[records.Person(p.name, p.email) for p in (host, *others)],
        zoom_ids={p.email: p.zoom_id for p in (host, *others)},
        domains=(ORGANIZATION_DOMAIN,),
        files=files,
    )
