"""User mapping: the admin's file first, then the directory; external people never; every miss with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.mapping import (
    EXTERNAL,
    NO_EMAIL,
    NO_SUCH_USER,
    SEVERAL_USERS,
    Attendee,
    Mailbox,
    MappingFileError,
    UserMapping,
    attendees,
    plan_recipients,
    read_mapping_file,
)
from shared.mapping import Directory as RealDirectory
from shared.message.record import MeetingRecord

DOMAINS = ("contoso.example", "contoso-old.example")
ALICE = Mailbox("alice@contoso.example", "id-alice")
ARCHIVE = Mailbox("archive.alice@contoso.example", "id-archive")
BOB = Mailbox("bob@contoso.example", "id-bob")


class Directory:
    """The directory's answers by address, and every address asked about."""

    def __init__(self, answers: dict[str, Mailbox | str]):
        self.answers = answers
        self.asked: list[str] = []

    def find(self, address: str) -> Mailbox | str:
        self.asked.append(address)
        return self.answers.get(address.lower(), NO_SUCH_USER)


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text(text, encoding="utf-8")
    return path


def plan(people: list[Attendee], directory: Directory, mapping: UserMapping | None = None):
    return plan_recipients(people, domains=DOMAINS, mapping=mapping or UserMapping(), find=directory.find)


def test_a_mapping_file_is_read_with_its_header_comments_and_spreadsheet_bom(tmp_path: Path) -> None:
    path = tmp_path / "mapping.csv"
    path.write_bytes(
        "\ufeffZoom_User, Microsoft_365_Address\n"
        "# moved to the archive mailbox\n"
        "\n"
        "Alice@Contoso-Old.example,archive.alice@contoso.example\n"
        "KDcuGIm1QgePTO8WbOqwIQ,bob@contoso.example\n".encode()
    )
    mapping = read_mapping_file(path, DOMAINS)
    assert mapping.lookup(Attendee("Alice", "alice@contoso-old.example")) == ("archive.alice@contoso.example", 4)
    assert mapping.lookup(Attendee("Bob", "", "KDcuGIm1QgePTO8WbOqwIQ")) == ("bob@contoso.example", 5)
    assert mapping.lookup(Attendee("Bob", "", "kdcugim1qgepto8wboqwiq")) is None, "Zoom user ids are case-sensitive"


def test_a_bad_mapping_file_is_refused_naming_every_bad_row(tmp_path: Path) -> None:
    path = mapping_file(
        tmp_path,
        "zoom_user,microsoft_365_address\n"
        "alice@contoso.example,archive.alice@contoso.example\n"
        "bob@contoso.example\n"
        "carol@contoso.example,not-an-address\n"
        "guest@fabrikam.example,dan@contoso.example\n"
        "alice@CONTOSO.example,someone.else@contoso.example\n"
        "not an id,erin@contoso.example\n"
        "alice@contoso.example,Archive.Alice@contoso.example\n",
    )
    with pytest.raises(MappingFileError) as raised:
        read_mapping_file(path, DOMAINS)
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["row 3", "row 4", "row 5", "row 6", "row 7"]
    assert "expected 2 columns" in problems[0]
    assert "'not-an-address' is not an email address" in problems[1]
    assert "guest@fabrikam.example is outside ORGANIZATION_DOMAINS" in problems[2]
    assert "already mapped to archive.alice@contoso.example on row 2" in problems[3]
    assert "neither an email address nor a Zoom user id" in problems[4]
    assert str(path) in str(raised.value) and "USER_MAPPING_FILE" in str(raised.value)


def test_a_mapping_file_without_its_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match=r"row 1: the first row must be the header"):
        read_mapping_file(mapping_file(tmp_path, "alice@contoso.example,archive.alice@contoso.example\n"), DOMAINS)
    with pytest.raises(MappingFileError, match="the file is empty"):
        read_mapping_file(mapping_file(tmp_path, "\n"), DOMAINS)


def test_the_mapping_file_beats_automatic_matching() -> None:
    directory = Directory({"alice@contoso.example": ALICE, "archive.alice@contoso.example": ARCHIVE})
    mapping = UserMapping(by_email={"alice@contoso.example": ("archive.alice@contoso.example", 2)})
    targets, unmapped = plan([Attendee("Alice", "Alice@Contoso.example")], directory, mapping)
    assert [t.mailbox for t in targets] == [ARCHIVE]
    assert directory.asked == ["archive.alice@contoso.example"], "the participant's own address is not looked up"
    assert unmapped == []


def test_a_zoom_user_id_row_maps_its_account_whatever_the_email() -> None:
    directory = Directory({"bob@contoso.example": BOB})
    mapping = UserMapping(by_zoom_id={"zBob": ("bob@contoso.example", 3)})
    targets, unmapped = plan([Attendee("Bob", "bob.private@fabrikam.example", "zBob")], directory, mapping)
    assert [t.mailbox for t in targets] == [BOB]
    assert unmapped == []


def test_external_and_email_less_people_are_never_looked_up() -> None:
    directory = Directory({"alice@contoso.example": ALICE})
    guest, anonymous = Attendee("Grace", "grace@fabrikam.example"), Attendee("iPhone", "")
    targets, unmapped = plan([Attendee("Alice", "alice@contoso.example"), guest, anonymous], directory)
    assert [t.mailbox for t in targets] == [ALICE]
    assert [(u.person, u.reason) for u in unmapped] == [(guest, EXTERNAL), (anonymous, NO_EMAIL)]
    assert directory.asked == ["alice@contoso.example"]


def test_misses_carry_their_reason_and_the_mapping_row_that_led_there() -> None:
    directory = Directory({"shared@contoso.example": SEVERAL_USERS})
    mapping = UserMapping(by_email={"carol@contoso.example": ("carol.new@contoso.example", 7)})
    carol, shared, dan = (
        Attendee("Carol", "carol@contoso.example"),
        Attendee("Team", "shared@contoso.example"),
        Attendee("Dan", "dan@contoso.example"),
    )
    targets, unmapped = plan([carol, shared, dan], directory, mapping)
    assert targets == []
    assert [(u.person, u.reason, u.detail) for u in unmapped] == [
        (carol, NO_SUCH_USER, "mapping file row 7: carol.new@contoso.example"),
        (shared, SEVERAL_USERS, ""),
        (dan, NO_SUCH_USER, ""),
    ]


def test_one_copy_per_mailbox_however_many_entries_lead_to_it() -> None:
    directory = Directory({"alice@contoso.example": ALICE, "alice.alias@contoso.example": ALICE})
    host = Attendee("Alice", "alice@contoso.example", "zAlice")
    again = Attendee("Alice (phone)", "ALICE@contoso.example")
    alias = Attendee("Alice A.", "alice.alias@contoso.example")
    targets, unmapped = plan([host, again, alias], directory)
    assert len(targets) == 1
    assert targets[0].mailbox == ALICE and targets[0].people == (host, alias)
    assert unmapped == []


def test_the_record_gives_the_host_first_and_participants_unless_only_the_host_gets_a_copy() -> None:
    written = {
        "host": {"id": "zAlice", "name": "Alice", "email": "alice@contoso.example"},
        "participants": [
            {"name": "Bob", "email": "bob@contoso.example", "internal": True, "id": "zBob"},
            {"name": "Grace", "email": "", "internal": False},
        ],
    }
    record = MeetingRecord.from_json(json.dumps(written))
    alice = Attendee("Alice", "alice@contoso.example", "zAlice")
    assert attendees(record, "participants") == [
        alice,
        Attendee("Bob", "bob@contoso.example", "zBob"),
        Attendee("Grace", ""),
    ]
    assert attendees(record, "host") == [alice]


class Graph:
    """Microsoft Graph's `/users` answers, one list per request, and how many requests were made."""

    def __init__(self, *answers: list[dict[str, str]]):
        self.answers = list(answers)
        self.requests = 0

    def request(self, method: str, path: str, params: dict[str, str]) -> dict:
        self.requests += 1
        return {"value": self.answers.pop(0)}


def test_a_user_found_is_remembered_but_no_such_user_is_asked_again_within_a_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("shared.mapping.time.monotonic", lambda: clock[0])
    user = {"id": "id-frank", "mail": "frank@contoso.example"}
    graph = Graph([], [user])  # a user created minutes ago: the directory's first answer is empty
    directory = RealDirectory(graph)  # type: ignore[arg-type]

    assert directory.find("frank@contoso.example") == NO_SUCH_USER
    clock[0] += 30
    assert directory.find("frank@contoso.example") == NO_SUCH_USER, "asked again only after a minute"
    clock[0] += 31
    assert directory.find("frank@contoso.example") == Mailbox("frank@contoso.example", "id-frank")
    clock[0] += 14 * 60
    assert directory.find("frank@contoso.example") == Mailbox("frank@contoso.example", "id-frank")
    assert graph.requests == 2
