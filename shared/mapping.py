"""Which Microsoft 365 mailboxes receive a meeting: the people in it matched to users, and who could not be.

In this order: the admin's mapping file (a Zoom email or Zoom user id -> a Microsoft 365 address), then the
participant's email matched against `mail`, `userPrincipalName` and `proxyAddresses` (aliases). Only
internal participants (email in the organisation's domains) are matched by email: a copy in the wrong
mailbox is a privacy breach. A Zoom user id row of the mapping file is the admin's word for one Zoom
account, whatever its email. Whoever could not be matched is reported with the reason.
(Facts: ../shared/reference/microsoft-graph.md §7.)
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.message.record import MeetingRecord
from shared.records import is_internal

if TYPE_CHECKING:
    from shared.graph import GraphClient
    from shared.settings import Settings

EXTERNAL = "external"
NO_EMAIL = "no email"
NO_SUCH_USER = "no such user"
SEVERAL_USERS = "several users have this address"
NO_MAILBOX = "no mailbox"  # found by the importer, not here: the user exists but Graph reaches no mailbox
FALLBACK_REASONS = (NO_SUCH_USER, SEVERAL_USERS)  # internal people the default mailbox stands in for
HOST_ONLY = "host"
DIRECTORY_TTL = 15 * 60.0  # seconds a directory answer is reused: one run, not a stale tenant
# Seconds a "no such user" answer is reused: Graph may answer `{"value": []}` for a user created minutes ago
# (the directory replicates), so an empty answer is asked again soon, not for a quarter of an hour of meetings.
NOT_FOUND_TTL = 60.0
MAPPING_HEADER = ("zoom_user", "microsoft_365_address")
_ADDRESS = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_ZOOM_USER_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Mailbox:
    address: str
    user_id: str


@dataclass(frozen=True)
class Attendee:
    """Someone in the meeting, as the archived record names them; `zoom_id` is empty for guests."""

    name: str
    email: str
    zoom_id: str = ""


@dataclass(frozen=True)
class Target:
    """A mailbox that gets the item, and the people it stands for."""

    mailbox: Mailbox
    people: tuple[Attendee, ...]


@dataclass(frozen=True)
class Unmapped:
    person: Attendee
    reason: str
    detail: str = ""  # e.g. which row of the mapping file named the address that was not found


class MappingFileError(Exception):
    """The admin's mapping file cannot be used; the message names every bad row."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"The user mapping file {path} (USER_MAPPING_FILE) has {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class UserMapping:
    """The admin's rows: Zoom user id or (lower-case) Zoom email -> (Microsoft 365 address, row number)."""

    by_zoom_id: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    by_email: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def lookup(self, person: Attendee) -> tuple[str, int] | None:
        """The address the file gives this person: by Zoom user id first, then by Zoom email."""
        return self.by_zoom_id.get(person.zoom_id) or self.by_email.get(person.email.strip().lower())


def read_mapping_file(path: str | Path, domains: tuple[str, ...]) -> UserMapping:
    """Read the CSV (`zoom_user,microsoft_365_address` header); raise `MappingFileError` naming each bad row."""
    by_zoom_id: dict[str, tuple[str, int]] = {}
    by_email: dict[str, tuple[str, int]] = {}
    problems: list[str] = []
    header_seen = False
    with open(path, encoding="utf-8-sig", newline="") as handle:  # utf-8-sig: spreadsheets write a BOM
        reader = csv.reader(handle)
        for cells in reader:
            row = reader.line_num
            values = [c.strip() for c in cells]
            if not any(values) or values[0].startswith("#"):
                continue
            if not header_seen:
                header_seen = True
                if tuple(v.lower() for v in values) != MAPPING_HEADER:
                    problems.append(f"row {row}: the first row must be the header {','.join(MAPPING_HEADER)}")
                continue
            problem = _row_problem(values, domains)
            if problem:
                problems.append(f"row {row}: {problem}")
                continue
            zoom_user, address = values
            table = by_email if "@" in zoom_user else by_zoom_id
            key = zoom_user.lower() if "@" in zoom_user else zoom_user
            earlier = table.get(key)
            if earlier and earlier[0].lower() != address.lower():
                problems.append(f"row {row}: {zoom_user} is already mapped to {earlier[0]} on row {earlier[1]}")
            elif not earlier:
                table[key] = (address, row)
    if not header_seen:
        problems.append(f"the file is empty: it needs the header {','.join(MAPPING_HEADER)}")
    if problems:
        raise MappingFileError(str(path), problems)
    return UserMapping(by_zoom_id, by_email)


def _row_problem(values: list[str], domains: tuple[str, ...]) -> str:
    if len(values) != 2:
        return f"expected 2 columns ({', '.join(MAPPING_HEADER)}), found {len(values)}"
    zoom_user, address = values
    if not zoom_user:
        return "the Zoom user (email or Zoom user id) is empty"
    if not _ADDRESS.fullmatch(address):
        return f"{address!r} is not an email address"
    if "@" in zoom_user:
        if not _ADDRESS.fullmatch(zoom_user):
            return f"{zoom_user!r} is not an email address"
        if not is_internal(zoom_user, domains):
            return (
                f"{zoom_user} is outside ORGANIZATION_DOMAINS: external participants are never mapped "
                "(add the domain to ORGANIZATION_DOMAINS if it is the organisation's)"
            )
    elif not _ZOOM_USER_ID.fullmatch(zoom_user):
        return f"{zoom_user!r} is neither an email address nor a Zoom user id"
    return ""


def attendees(record: MeetingRecord, recipients: str) -> list[Attendee]:
    """Who may get a copy, from the archived record: the host first, then each participant unless only the
    host is to get one. A participant's Zoom user id is Zoom's participant `id` (empty for guests)."""
    people = [Attendee(record.host.name, record.host.email.strip(), record.host_id)]
    if recipients != HOST_ONLY:
        people += [Attendee(p.name, p.email.strip(), p.zoom_id) for p in record.participants]
    return people


class Directory:
    """Finds users in Microsoft Entra by any of their addresses; each answer is reused for `ttl` seconds, so a
    run looks each person up once (one Directory per process), but "no such user" only for `not_found_ttl`."""

    def __init__(self, graph: GraphClient, ttl: float = DIRECTORY_TTL, not_found_ttl: float = NOT_FOUND_TTL):
        self.graph = graph
        self.ttl = ttl
        self.not_found_ttl = not_found_ttl
        self._cache: dict[str, tuple[float, Mailbox | str]] = {}

    def find(self, address: str) -> Mailbox | str:
        """The user's mailbox, or why there is none (`NO_SUCH_USER`, `SEVERAL_USERS`)."""
        key = address.strip().lower()
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        found = self._lookup(key)
        self._cache[key] = (time.monotonic() + (self.not_found_ttl if found == NO_SUCH_USER else self.ttl), found)
        return found

    def _lookup(self, address: str) -> Mailbox | str:
        value = address.replace("'", "''")
        query = (
            f"mail eq '{value}' or userPrincipalName eq '{value}' or "
            f"proxyAddresses/any(p:p eq 'smtp:{value}') or proxyAddresses/any(p:p eq 'SMTP:{value}')"
        )
        params = {"$select": "id,mail,userPrincipalName", "$filter": query}
        users = self.graph.request("GET", "/users", params=params).get("value") or []
        if not users:
            return NO_SUCH_USER
        if len(users) > 1:
            return SEVERAL_USERS  # never guess a mailbox
        user = users[0]
        return Mailbox(address=str(user.get("mail") or user.get("userPrincipalName") or address), user_id=user["id"])


def plan_recipients(
    people: Sequence[Attendee],
    *,
    domains: tuple[str, ...],
    mapping: UserMapping,
    find: Callable[[str], Mailbox | str],
) -> tuple[list[Target], list[Unmapped]]:
    """The mailboxes that get a copy (one per mailbox, however many people map to it), and everyone else."""
    targets: dict[str, list[Attendee]] = {}
    mailboxes: dict[str, Mailbox] = {}
    unmapped: list[Unmapped] = []
    seen: set[str] = set()
    for person in people:
        email = person.email.lower()
        identities = _identities(person)
        if identities & seen:
            continue
        seen |= identities
        row = mapping.lookup(person)
        detail = ""
        if row:
            found = find(row[0])
            detail = f"mapping file row {row[1]}: {row[0]}"
        elif not email:
            found = NO_EMAIL
        elif not is_internal(email, domains):
            found = EXTERNAL
        else:
            found = find(email)
        if isinstance(found, str):
            unmapped.append(Unmapped(person, found, detail))
        else:
            mailboxes[found.user_id] = found
            targets.setdefault(found.user_id, []).append(person)
    return [Target(mailboxes[uid], tuple(ps)) for uid, ps in targets.items()], unmapped


def recipients(
    record: MeetingRecord, *, settings: Settings, mapping: UserMapping, directory: Directory
) -> tuple[list[Target], list[Unmapped]]:
    """Who gets a copy of the meeting of this archived record, as the settings say, and who does not."""
    return plan_recipients(
        attendees(record, settings.mailbox_recipients),
        domains=settings.organization_domains,
        mapping=mapping,
        find=directory.find,
    )


def _identities(person: Attendee) -> set[str]:
    """What makes two entries of the record the same person: the Zoom user id or the email (else the name)."""
    found = {f"id:{person.zoom_id}"} if person.zoom_id else set()
    if person.email:
        found.add(f"email:{person.email.lower()}")
    return found or {f"name:{person.name}"}
