"""Our messages as real mail systems read them: a Dovecot IMAP server, a second MIME parser written
independently of Python's `email` package (postal-mime, run by Node), and headless Chromium rendering the HTML
body at the width of Outlook's reading pane and of a phone.

The messages are meetings in several scripts (Latin with accents, Japanese, Chinese, Korean, Cyrillic, Arabic
and Hebrew), with names that try to disguise themselves or break a header, a long unbroken chat word, forty
participants, a file stored apart and an addition. Each reader must agree with our own parse (Python's
`email` package and `shared.message.reader`) on structure, headers, names, bodies and files.
"""

from __future__ import annotations

import hashlib
import html
import imaplib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from local.world import ROOT
from shared.message.bodies import read_said
from shared.message.compose import compose
from shared.message.reader import ArchivedMessage, read_message
from shared.records import Person, StoredIn
from tests.chromium import chromium_dom
from tests.dovecot import Dovecot, parse_fetch
from tests.unit.message.examples import attendee, captured, meeting

pytestmark = pytest.mark.integration

NODE = "node"
SPECIALS = '()<>[]:;@\\,."'  # RFC 5322's: a display name holding one is a quoted string
PANE, PHONE = 800, 375  # CSS pixels: Outlook's reading pane, a phone held upright
STORED_IN = StoredIn("starchive", "recordings", "https://starchive.blob.core.windows.net/recordings")


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    words: tuple[str, ...]  # words said in its chat or transcript, which a search must find

    @property
    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)

    @property
    def read(self) -> ArchivedMessage:
        return read_message(self.data)

    def body(self, kind: str) -> str:
        part = self.parsed.get_body(preferencelist=(kind,))
        assert part is not None
        return part.get_content().replace("\r\n", "\n")


def _chat(*lines: tuple[str, str, str]) -> bytes:
    return "".join(f"{t}\t{who}:\t{text}\r\n" for t, who, text in lines).encode()


def _vtt(*cues: str) -> bytes:
    body = "".join(f"{n}\n00:00:{n:02d}.000 --> 00:00:{n:02d}.900\n{cue}\n\n" for n, cue in enumerate(cues, 1))
    return f"WEBVTT\n\n{body}".encode()


def _sample(
    name: str,
    topic: str,
    host: str,
    people: list[tuple[str, str]],
    files: list[tuple[str, bytes]],
    words: tuple[str, ...],
    **fields: object,
) -> Sample:
    """A meeting's message: `people` are (name, email), internal but for fabrikam's; `files` are (Zoom file
    type, content), a recording stored apart, the rest attached."""
    attendees = tuple(attendee(n, e, internal=not e.endswith("@fabrikam.example")) for n, e in people)
    placed = [captured(n, kind, data, stored=kind == "MP4") for n, (kind, data) in enumerate(files, 1)]
    contents = {c.file.key: data for c, (_, data) in zip(placed, files, strict=True)}
    item = meeting(topic=topic, name=host, participants=attendees, files=tuple(c.file for c in placed), **fields)
    said = read_said(placed, lambda c: io.BytesIO(contents[c.file.key]))
    out = io.BytesIO()
    compose(item, placed, said, stored_in=STORED_IN).write(out, lambda c: io.BytesIO(contents[c.file.key]))
    return Sample(name, out.getvalue(), words)


def corpus() -> list[Sample]:
    latin = [
        ("José Müller", "jose@contoso.example"),
        ("François d'Arc", "francois@contoso.example"),
        ('O\'Brien, "Jr" \\ <boss@evil.example>', "obrien@contoso.example"),
        ("Gäste Gast", "gast@fabrikam.example"),
    ]
    chat = _chat(
        ("00:01:02", "José Müller", "Les prévisions budgétaires sont prêtes"),
        ("00:02:03", "Zoë Ångström", "Die Größenordnung stimmt, danke"),
    )
    topic = "Réunion budgétaire — T3 «prévisions»"
    cjk = [(f"山田 太郎{n} 会議室の担当者", f"yamada{n}@contoso.example") for n in range(40)]
    cjk += [("李 小龙", "li@contoso.example"), ("김민수", "minsu@contoso.example")]
    cjk_chat = _chat(
        ("00:00:05", "山田 太郎", "議事録は明日までに共有します"),
        ("00:00:09", "李 小龙", "预算已经批准了"),
        ("00:00:12", "김민수", "회의록 확인했습니다"),
    )
    rtl = [
        ("محمد علي", "mohammed@contoso.example"),
        ("Дмитрий Иванов", "dmitry@contoso.example"),
        ("דנה כהן", "dana@contoso.example"),
        ("Ali \u202egnp.exe\u202c \u2066Khan\u2069", "ali@contoso.example"),
    ]
    rtl_chat = _chat(
        ("00:03:00", "محمد علي", "تمت الموافقة على الميزانية"),
        ("00:03:30", "Дмитрий Иванов", "Бюджет утверждён, спасибо"),
        ("00:04:00", "דנה כהן", "שלום לכולם"),
    )
    hostile = [
        ("Zoë 👩\u200d💻 Ångström", "zoe@contoso.example"),
        ("=?utf-8?q?Fake_CEO?=", "ceo@contoso.example"),
        ("Eve\r\nBcc: eve@evil.example", "eve@contoso.example"),
    ]
    unbroken = "Unterbrechungsfreie" * 30
    hostile_chat = _chat(("00:00:01", "Zoë", f"Seht euch das an: {unbroken} 🎉 Ünïcödé"))
    return [
        _sample("latin", topic, "Zoë Ångström", latin, [("CHAT", chat)], ("budgétaires", "Größenordnung")),
        _sample(
            "addition",
            topic,
            "Zoë Ångström",
            latin,
            [("TRANSCRIPT", _vtt("Zoë Ångström: Nachtrag zur Größenordnung"))],
            ("Nachtrag",),
            addition=True,
        ),
        _sample(
            "cjk",
            "四半期の計画会議 2026 — 予算",
            "山田 太郎",
            cjk,
            [
                ("CHAT", cjk_chat),
                ("TRANSCRIPT", _vtt("山田 太郎: 四半期の売上目標について話しましょう", "李 小龙: 好的")),
            ],
            ("議事録", "预算", "회의록", "売上目標"),
        ),
        _sample(
            "rtl-cyrillic",
            "Планёрка отдела — اجتماع الفريق",
            "Дмитрий Иванов",
            rtl,
            [("CHAT", rtl_chat)],
            ("الميزانية", "утверждён", "שלום"),
        ),
        _sample(
            "hostile-long",
            "=?utf-8?q?Urgent?= Zahlungsfreigabe\r\nBcc: x@evil.example",
            "Zoë 👩\u200d💻",
            hostile,
            [("MP4", bytes(range(256)) * 40), ("CHAT", hostile_chat)],
            ("Ünïcödé", unbroken[:40]),
        ),
    ]


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return corpus()


# --- Dovecot ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mailbox(dovecot: Dovecot, samples: list[Sample]) -> Iterator[tuple[imaplib.IMAP4, dict[str, int]]]:
    """Every sample APPENDed to a folder of its own, and each sample's UID there."""
    with dovecot.session() as imap:
        folder = "Readers"
        imap.create(folder)
        uids = {}
        for sample in samples:
            status, answer = imap.append(folder, "(\\Seen)", None, sample.data)
            assert status == "OK", (answer, dovecot.log()[-2000:])
            uids[sample.name] = int(re.search(rb"APPENDUID \d+ (\d+)", answer[0]).group(1))
        status, _ = imap.select(folder)
        assert status == "OK"
        yield imap, uids


def _fetch(imap: imaplib.IMAP4, uid: int, items: str) -> dict[str, Any]:
    status, data = imap.uid("FETCH", str(uid), f"({items})")
    assert status == "OK", data
    return parse_fetch(data)


def _search(imap: imaplib.IMAP4, key: str, value: str) -> set[int]:
    imap.literal = value.encode()
    status, data = imap.uid("SEARCH", "CHARSET", "UTF-8", key)
    assert status == "OK", data
    return {int(n) for n in data[0].split()}


def _structure(part: EmailMessage) -> list[Any]:
    """What IMAP's BODYSTRUCTURE says of a part, from Python's parse: nested lists of the same shape, the
    extension data left out but for the disposition."""
    if part.is_multipart():
        return [*(_structure(p) for p in part.iter_parts()), part.get_content_subtype(), part.get_boundary()]
    body = part.get_payload(decode=False).encode()
    charset = part.get_param("charset")
    filename = part.get_filename()
    shape = [
        part.get_content_maintype(),
        part.get_content_subtype(),
        charset,
        part["Content-Transfer-Encoding"].lower(),
        len(body),
    ]
    if part.get_content_maintype() == "text":
        shape.append(body.count(b"\n") + (0 if body.endswith(b"\n") else 1))
    shape.append(filename)
    return shape


def _imap_structure(node: list[Any]) -> list[Any]:
    """BODYSTRUCTURE as `_structure` shapes it."""
    if isinstance(node[0], list):
        children = [n for n in node if isinstance(n, list) and n and isinstance(n[0], list | bytes)]
        parts = [c for c in children if isinstance(c[0], list) or len(c) > 3]
        subtype = next(n for n in node if isinstance(n, bytes)).decode().lower()
        parameters = node[len(parts) + 1]
        boundary = dict(zip(parameters[::2], parameters[1::2], strict=True))[b"boundary"].decode()
        return [*(_imap_structure(p) for p in parts), subtype, boundary]
    maintype, subtype, parameters, _, _, encoding, size = node[:7]
    parameters = dict(zip(parameters[::2], parameters[1::2], strict=True)) if parameters else {}
    shape = [maintype.decode().lower(), subtype.decode().lower()]
    shape += [parameters[b"charset"].decode() if b"charset" in parameters else None, encoding.decode().lower()]
    shape.append(int(size))
    text = maintype.lower() == b"text"
    if text:
        shape.append(int(node[7]))
    disposition = node[9 if text else 8]
    filename = None
    if disposition:
        values = dict(zip(disposition[1][::2], disposition[1][1::2], strict=True)) if disposition[1] else {}
        filename = values.get(b"filename", b"").decode() or None
    shape.append(filename)
    return shape


def _decoded(value: bytes | None) -> str:
    return str(make_header(decode_header(value.decode()))) if value else ""


def test_dovecot_keeps_every_message_and_reads_its_structure_and_envelope_as_we_do(
    mailbox: tuple[imaplib.IMAP4, dict[str, int]], samples: list[Sample]
) -> None:
    imap, uids = mailbox
    for sample in samples:
        fetched = _fetch(imap, uids[sample.name], "RFC822.SIZE BODYSTRUCTURE ENVELOPE BODY.PEEK[]")
        assert fetched["BODY[]"] == sample.data, f"{sample.name}: Dovecot changed the message"
        assert int(fetched["RFC822.SIZE"]) == len(sample.data)
        assert _imap_structure(fetched["BODYSTRUCTURE"]) == _structure(sample.parsed), sample.name
        date, subject, sender, _, _, to, cc, bcc, in_reply_to, message_id = fetched["ENVELOPE"]
        ours = sample.read
        assert parsedate_to_datetime(date.decode()) == sample.parsed["Date"].datetime
        assert _decoded(subject) == ours.subject, sample.name
        people = [Person(_decoded(name), f"{box.decode()}@{host.decode()}") for name, _, box, host in to]
        assert people == list(ours.to), sample.name
        ((name, _, box, host),) = sender
        assert Person(_decoded(name), f"{box.decode()}@{host.decode()}") == ours.sender
        assert (cc, bcc) == (None, None)
        assert (in_reply_to or b"").decode() == ours.in_reply_to
        assert message_id.decode() == ours.message_id


def test_dovecot_finds_what_was_said_and_who_was_there_in_every_script(
    mailbox: tuple[imaplib.IMAP4, dict[str, int]], samples: list[Sample]
) -> None:
    imap, uids = mailbox
    for sample in samples:
        for word in sample.words:
            expected = {uids[s.name] for s in samples if word.lower() in s.body("plain").lower()}
            assert uids[sample.name] in expected, f"{word!r} is not in the text body of {sample.name}"
            assert _search(imap, "BODY", word) == expected, f"SEARCH BODY {word!r}"
        ours = sample.read
        assert uids[sample.name] in _search(imap, "SUBJECT", ours.subject)
        for person in (ours.sender, *ours.to):
            if set(person.name) & set(SPECIALS):
                continue  # Dovecot matches such a name as the header quotes it: ENVELOPE and postal-mime check it
            assert uids[sample.name] in _search(imap, "TO" if person in ours.to else "FROM", person.name)
            joined = person.name.replace(" ", "")
            if joined != person.name:  # a reader that dropped the spaces of a name would find this instead
                assert uids[sample.name] not in _search(imap, "TO" if person in ours.to else "FROM", joined)
    assert _search(imap, "BODY", "Zahlungsverzugsquittung") == set(), "a word no message holds finds nothing"


# --- a second, independent MIME parser --------------------------------------------------------------


def test_postal_mime_reads_every_message_as_we_do(samples: list[Sample], tmp_path: Path) -> None:
    script = ROOT / "tests" / "postal_mime.mjs"
    assert (ROOT / "node_modules" / "postal-mime").exists(), "postal-mime is missing: run `make deps` (npm ci)"
    paths = []
    for sample in samples:
        paths.append(tmp_path / f"{sample.name}.eml")
        paths[-1].write_bytes(sample.data)
    result = subprocess.run(
        [NODE, str(script), *map(str, paths)], capture_output=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    for sample, theirs in zip(samples, json.loads(result.stdout), strict=True):
        ours = sample.read
        assert theirs["subject"] == ours.subject, sample.name
        assert Person(theirs["from"]["name"], theirs["from"]["address"]) == ours.sender, sample.name
        assert [Person(p["name"], p["address"]) for p in theirs["to"]] == list(ours.to), sample.name
        assert (theirs["messageId"], theirs["inReplyTo"]) == (ours.message_id, ours.in_reply_to)
        assert theirs["references"] == ours.in_reply_to
        assert parsedate_to_datetime(sample.parsed["Date"]) == _iso(theirs["date"])
        assert theirs["text"].replace("\r\n", "\n").rstrip("\n") == sample.body("plain").rstrip("\n"), sample.name
        assert theirs["html"].replace("\r\n", "\n").rstrip("\n") == ours.html.replace("\r\n", "\n").rstrip("\n")
        assert [(a["filename"], a["mimeType"], a["disposition"], a["sha256"]) for a in theirs["attachments"]] == [
            (a.filename, a.content_type, "attachment", hashlib.sha256(a.data).hexdigest()) for a in ours.attachments
        ], sample.name


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- headless Chromium ----------------------------------------------------------------------------

MEASURE = """<script>
(() => {
  const width = document.documentElement.clientWidth;
  const over = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    const text = element.textContent.slice(0, 60);
    if (box.right > width + 0.5) over.push(`${element.tagName} ${Math.round(box.right)}: ${text}`);
  }
  const notice = document.querySelector(".stored");
  let stored = null;
  if (notice) {
    const box = notice.getBoundingClientRect(), style = getComputedStyle(notice);
    stored = {left: box.left, right: box.right, width: box.width, height: box.height,
              shown: style.display !== "none" && style.visibility !== "hidden", text: notice.innerText};
  }
  const out = parent.document.createElement("pre");
  out.id = "measure";
  const scrollWidth = document.documentElement.scrollWidth;
  out.textContent = JSON.stringify({window: innerWidth, width, scrollWidth, over, stored});
  parent.document.body.appendChild(out);
})();
</script>"""


def _rendered(sample: Sample, width: int, folder: Path) -> dict[str, Any]:
    """The HTML body as Chromium lays it out in a frame `width` CSS pixels wide (a window cannot be narrower
    than 500), measured by a script added to it: a frame of the page's own origin hands the figures out."""
    page = folder / f"{sample.name}-{width}.html"
    body = sample.read.html.replace("</body>", MEASURE + "</body>")
    frame = f'<iframe width="{width}" height="1200" style="border:0" srcdoc="{html.escape(body)}"></iframe>'
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{frame}</body></html>")
    dom = chromium_dom(page.as_uri(), folder / "profile", "--window-size=1000,1300")
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.DOTALL)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


WIDTHS = [(name, PANE) for name in ("latin", "addition", "cjk", "rtl-cyrillic", "hostile-long")]


@pytest.mark.parametrize(("name", "width"), [*WIDTHS, ("cjk", PHONE), ("hostile-long", PHONE)])
def test_the_html_body_fits_the_reading_pane_and_a_phone(
    samples: list[Sample], name: str, width: int, tmp_path: Path
) -> None:
    (sample,) = [s for s in samples if s.name == name]
    shown = _rendered(sample, width, tmp_path)
    assert shown["window"] == width, "the window is the width asked for (less a scroll bar for the page)"
    assert shown["scrollWidth"] <= shown["width"] and not shown["over"], f"runs past the pane: {shown['over'][:5]}"
    stored = shown["stored"]
    if name == "hostile-long":
        assert stored and stored["shown"] and stored["width"] > 0 and stored["height"] > 0
        assert stored["left"] >= 0 and stored["right"] <= shown["width"], "the stored-file notice is on screen"
        assert "Storage account" in stored["text"] and "starchive" in stored["text"]
    else:
        assert stored is None
