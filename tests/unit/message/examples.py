"""Meetings, files and readers of messages shared by the tests of the message package."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

from hypothesis import strategies as st

from shared.records import CapturedFile, Meeting, Participant, Person, RecordingFile, Session

START = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
ZONE = "America/New_York"
EXTENSIONS = {"MP4": "MP4", "M4A": "M4A", "CHAT": "TXT", "TRANSCRIPT": "VTT", "CC": "VTT", "TIMELINE": "JSON"}
TYPES = {"MP4": "video/mp4", "M4A": "audio/mp4", "TXT": "text/plain", "VTT": "text/vtt", "JSON": "application/json"}


def meeting(
    topic: str = "Planning",
    name: str = "Alice Archer",
    participants: tuple[Participant, ...] = (),
    **fields: object,
) -> Meeting:
    values: dict = {
        "uuid": "/ajXp112QmuoKj4854875==",
        "meeting_id": 123,
        "topic": topic,
        "host": Person(name, "alice@contoso.example"),
        "host_id": "zAlice",
        "start": START,
        "duration_minutes": 45,
        "timezone": ZONE,
        "type": 2,
        "participants": participants,
        "files": (),
        **fields,
    }
    return Meeting(**values)


def attendee(name: str, email: str, internal: bool = True) -> Participant:
    return Participant(name, email, internal, (Session(START, START, 60),))


def captured(
    number: int,
    file_type: str,
    data: bytes,
    stored: bool = False,
    start: datetime = START,
    fingerprint: str = "",
) -> CapturedFile:
    """A downloaded file `data`, numbered as capture numbers them; `stored` puts it in the recordings container."""
    extension = EXTENSIONS[file_type]
    file = RecordingFile(
        f"key-{number}",
        file_type,
        extension,
        "",
        len(data),
        "",
        start,
        start + timedelta(hours=1),
        "completed",
        fingerprint,
    )
    name = f"{number:02d}-{file_type.lower()}.{extension.lower()}"
    sha256 = hashlib.sha256(data).hexdigest()
    return CapturedFile(
        file, name, TYPES[extension], len(data), sha256, f"{sha256}.{extension.lower()}" if stored else ""
    )


def parsed(data: bytes) -> EmailMessage:
    """The message as Python's `email` package reads it; it must find no defect."""
    msg = message_from_bytes(data, policy=policy.default)
    assert not msg.defects
    return msg


def bodies(data: bytes) -> tuple[str, str]:
    """The text body and the HTML body, with LF line ends."""
    msg = parsed(data)
    text, html = (msg.get_body(preferencelist=(kind,)).get_content() for kind in ("plain", "html"))
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


class Page(HTMLParser):
    """What a reader sees of an HTML body: the text of each heading and paragraph, and each table row's cells
    (a `<br>` read as a line break), whatever characters the markup escapes and however it spells them."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.paragraphs: list[str] = []
        self.rows: list[list[str]] = []
        self._text: list[str] | None = None
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "h1", "h2", "p"):
            self._text = []
        elif tag == "br" and self._text is not None:
            self._text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = "".join(self._text)
        if tag in ("td", "th"):
            self.rows[-1].append(text)
        elif tag in ("h1", "h2"):
            self.headings.append(text)
        elif tag == "p":
            self.paragraphs.append(text)
        else:
            return
        self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


class Markup(HTMLParser):
    """Every piece of markup in a document, in order: tags with their attributes, comments, declarations."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.seen: list[tuple[str, ...]] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(("start", tag, *(f"{name}={value}" for name, value in attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(("startend", tag, *(f"{name}={value}" for name, value in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.seen.append(("end", tag))

    def handle_comment(self, data: str) -> None:
        self.seen.append(("comment", data))

    def handle_decl(self, decl: str) -> None:
        self.seen.append(("decl", decl))

    def handle_pi(self, data: str) -> None:
        self.seen.append(("pi", data))

    def unknown_decl(self, data: str) -> None:
        self.seen.append(("unknown", data))


MARKUP = str.maketrans("<>&\"'", "_____")  # HTML's special characters, each replaced by a harmless one


def header_lines(data: bytes, name: str) -> list[bytes]:
    """The raw lines of a top-level header: its first line and the lines that continue it."""
    lines, found = [], False
    for line in data[: data.index(b"\r\n\r\n")].split(b"\r\n"):
        if line.startswith((b" ", b"\t")):
            if found:
                lines.append(line)
            continue
        found = line.lower().startswith(name.lower().encode() + b":")
        if found:
            lines.append(line)
    return lines


OUR_HEADERS = (
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "X-Zoom-Meeting-UUID",
    "X-Zoom-Meeting-ID",
    "X-Zoom-Archive-Key",
    "X-Zoom-File-SHA256",
    "MIME-Version",
    "Content-Type",
)


def assert_headers_ours(data: bytes, files: int) -> None:
    """Exactly our top-level headers, each once (the file hashes once a file), and every raw header line either
    starts one of them or continues the one before (folded), with no other line break in it: Zoom text can add
    no header, and no line break that a reader splitting lines by Unicode's rules would see."""
    expected = Counter({name: 1 for name in OUR_HEADERS if name != "X-Zoom-File-SHA256"})
    expected.update({"X-Zoom-File-SHA256": files} if files else {})
    assert Counter(parsed(data).keys()) == expected
    block = data[: data.index(b"\r\n\r\n")]
    starts = tuple(f"{name}: ".encode() for name in OUR_HEADERS)
    for line in block.split(b"\r\n"):
        assert len(line.decode().splitlines()) == 1, line  # no CR, LF, VT, FF, NEL, U+2028... within a line
        assert line.startswith(starts) or line.startswith((b" ", b"\t")), line


def assert_markup_of(data: bytes, plain: bytes) -> str:
    """The HTML body of `data` has exactly the markup of `plain`, the same message made from the same Zoom text
    with HTML's special characters replaced: Zoom text adds no tag, attribute, comment or declaration."""
    html = parsed(data).get_body(preferencelist=("html",)).get_content()
    assert Markup(html).seen == Markup(parsed(plain).get_body(preferencelist=("html",)).get_content()).seen
    return html


zoom_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)  # any script, controls, surrogates
markup = st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</td></tr></table>", "&amp;"])
chat_text = st.lists(st.one_of(zoom_text, markup), max_size=4).map("".join)
