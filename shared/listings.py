"""What Zoom's archiving and its meeting reports list for a period, for the timer, the backfill and the
completeness report (the cloud recordings are listed per host by `inventory.Scope`).

- Archiving (`GET /archive_files`, Medium): the account's archived instances, a week at a time. A breakout
  room is an instance of its own that names its meeting (`parent_meeting_id`): it is listed as a room of that
  meeting, and the meeting is listed for it even when the meeting itself falls in another week.
- Meetings (`GET /report/users/{userId}/meetings`, Heavy): each host's past meetings, recorded or not, one call
  per host per month window (and per further page of 300 meetings). These calls share Zoom's daily Heavy
  quota with the webinar reports and every other app on the account, so listing them may use only
  `ZOOM_MEETINGS_HEAVY_PERCENT` of the plan's daily quota, counted per UTC day in Table storage across runs and
  instances; a listing that reaches it stops (`HeavyShareSpent`). Each host has a checkpoint of its own, and the
  hosts listed longest ago go first, so the next day's run goes on with those the budget did not reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.records import RecordingFile, as_int, as_list, short_hash
from shared.settings import ARCHIVING, MEETINGS, Settings
from shared.state import State
from shared.zoom import DailyLimitReached, ZoomClient
from shared.zoom.endpoints import ARCHIVE_WINDOW, REPORT_HORIZON_DAYS
from shared.zoom.ratelimit import HEAVY, PLANS, next_reset

ARCHIVING_CHECKPOINT = "archiving"
FACTS = ("uuid", "id", "topic", "type", "start_time", "host_id")


@dataclass(frozen=True)
class Listed:
    """One instance as a source lists it."""

    facts: dict[str, Any]  # uuid, id, topic, type, start_time, duration (held, in minutes), host_id
    source: str  # ARCHIVING or MEETINGS
    rooms: tuple[str, ...] = ()  # the UUIDs of its breakout rooms listed with it (archiving)
    partial: bool = False  # listed for its breakout rooms only: its facts are the rooms' until it is captured
    files: tuple[RecordingFile, ...] = ()  # its archive files and its rooms' (archiving; a recording has its own)


class HeavyShareSpent(DailyLimitReached):
    """Listing past meetings used its share of today's Heavy quota: it goes on after Zoom's daily reset."""

    def __init__(self, allowed: int, until: datetime):
        super().__init__(HEAVY, until, "daily share for listing past meetings")
        self.allowed = allowed
        self.args = (
            f"listing past meetings used its {allowed} Heavy Zoom calls of today (ZOOM_MEETINGS_HEAVY_PERCENT); "
            f"it goes on after {until:%Y-%m-%d %H:%M} UTC",
        )


def archived(
    zoom: ZoomClient, start: datetime, end: datetime, excluded: Callable[[dict[str, Any]], str]
) -> Iterator[Listed]:
    """The instances archived from `start` to `end`, breakout rooms listed with their meeting; an instance whose
    host `excluded` says is left out is not listed. Only a week's instances are held at a time."""
    window_start = start
    while window_start < end:
        window_end = min(end, window_start + ARCHIVE_WINDOW)
        meetings: dict[str, Listed] = {}
        rooms: dict[str, list[str]] = {}
        files: dict[str, list[RecordingFile]] = {}
        for item in zoom.archived_meetings(window_start, window_end):
            uuid, parent = str(item.get("uuid") or ""), str(item.get("parent_meeting_id") or "")
            if item.get("is_breakout_room") and parent:
                rooms.setdefault(parent, []).append(uuid)
                placeholder = {"uuid": parent, "start_time": item.get("start_time"), "host_id": item.get("host_id")}
                meetings.setdefault(parent, Listed(placeholder, ARCHIVING, partial=True))
                files.setdefault(parent, []).extend(_files(item, parent, uuid))
            elif uuid:
                meetings[uuid] = Listed(_archive_facts(item), ARCHIVING)
                files.setdefault(uuid, [])[:0] = _files(item, uuid)
        for uuid, listed in meetings.items():
            if not excluded(listed.facts):
                yield Listed(listed.facts, ARCHIVING, tuple(rooms.get(uuid, ())), listed.partial, tuple(files[uuid]))
        window_start = window_end


def _files(item: dict[str, Any], meeting_uuid: str, room: str = "") -> list[RecordingFile]:
    return [
        RecordingFile.from_archive(file, meeting_uuid, room)
        for file in as_list(item.get("archive_files"))
        if isinstance(file, dict)
    ]


def _archive_facts(item: dict[str, Any]) -> dict[str, Any]:
    """An archived instance's facts; its `duration` is the held one (Zoom's archive `duration` is scheduled)."""
    facts = {name: item[name] for name in FACTS if item.get(name) not in (None, "")}
    seconds = as_int(item.get("duration_in_second"))
    return {**facts, "duration": math.ceil(seconds / 60) if seconds else as_int(item.get("duration"))}


class PastMeetings:
    """Listing past meetings from Zoom's meeting reports, within the day's share of the Heavy quota."""

    def __init__(self, zoom: ZoomClient, state: State, settings: Settings):
        self.zoom = zoom
        self.state = state
        self.allowed = PLANS[settings.zoom_plan].daily * settings.zoom_meetings_heavy_percent // 100

    def spend(self) -> None:
        """Count one Heavy call of the listing; raises `HeavyShareSpent` when today's share is used."""
        now = datetime.now(UTC)
        if not self.state.take_heavy_call(now.date(), self.allowed):
            raise HeavyShareSpent(self.allowed, next_reset(now))

    def between(self, hosts: Iterable[dict[str, Any]], first: date, last: date) -> Iterator[Listed]:
        """The hosts' past meetings from `first` to `last` (at most six months back: Zoom reports no older)."""
        first = max(first, datetime.now(UTC).date() - timedelta(days=REPORT_HORIZON_DAYS))
        for host in hosts:
            for item in self.zoom.meeting_reports(str(host["id"]), first, last, self.spend):
                facts = {name: item[name] for name in FACTS if item.get(name) not in (None, "")}
                yield Listed({**facts, "duration": item.get("duration") or 0, "host_id": host["id"]}, MEETINGS)

    def since_checkpoints(
        self, hosts: Iterable[dict[str, Any]], today: date, overlap_days: int, backfill_days: int
    ) -> Iterator[Listed]:
        """Each host's past meetings since their own checkpoint (less `overlap_days`; `backfill_days` before
        `today` for a host never listed), the hosts listed longest ago first; a host's checkpoint moves once
        all of their meetings were given."""
        hosts = list(hosts)
        since = {str(host["id"]): self.state.checkpoint(host_checkpoint(str(host["id"]))) for host in hosts}
        for host in sorted(hosts, key=lambda h: since[str(h["id"])] or date.min):
            checkpoint = since[str(host["id"])]
            start = checkpoint - timedelta(days=overlap_days) if checkpoint else today - timedelta(days=backfill_days)
            yield from self.between([host], start, today)
            self.state.save_checkpoint(today, host_checkpoint(str(host["id"])))


def host_checkpoint(user_id: str) -> str:
    """The checkpoint row of one host's past meetings listing (named from a hash: Zoom ids are not keys)."""
    return f"{MEETINGS}-{short_hash(user_id)}"
