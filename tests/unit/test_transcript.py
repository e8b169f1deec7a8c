"""What was said: chat and transcript files become timed lines, and no line is lost however damaged the file."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from shared.transcript import Utterance, parse_chat, parse_vtt, read
from tests.conftest import shared_file
from tests.corpus import IN_SHARED, chat_files, sample, transcript_files


def chat(text: str) -> tuple[Utterance, ...]:
    return read("CHAT", io.BytesIO(text.encode())).utterances


def vtt(text: str) -> tuple[Utterance, ...]:
    return read("TRANSCRIPT", io.BytesIO(text.encode())).utterances


def test_a_chat_line_has_its_offset_speaker_and_text() -> None:
    assert chat("00:21:14\tAndrew Knight:\tHello: everyone\t!\r\n") == (
        Utterance(timedelta(minutes=21, seconds=14), "Andrew Knight", "Hello: everyone\t!"),
    )


def test_a_chat_line_without_a_time_continues_the_previous_message() -> None:
    assert chat("00:00:01\tAlice:\tfirst\r\nsecond\r\n\r\nthird\r\n00:00:02\tBob:\tnext\r\n") == (
        Utterance(timedelta(seconds=1), "Alice", "first\nsecond\n\nthird"),
        Utterance(timedelta(seconds=2), "Bob", "next"),
    )


def test_chat_lines_that_do_not_fit_the_format_are_kept_as_text() -> None:
    assert chat("garbage before\r\n00:00:05\tno speaker here\r\n1:2:3\tA:\tx\r\n") == (
        Utterance(None, "", "garbage before"),
        Utterance(timedelta(seconds=5), "", "no speaker here\n1:2:3\tA:\tx"),
    )


def test_every_line_of_a_real_chat_file_is_read() -> None:
    data = shared_file("samples/zoom/cloud-chat-file.txt").read_bytes()
    utterances = read("CHAT", io.BytesIO(data)).utterances
    expected = [line.split("\t") for line in data.decode().split("\r\n") if line]
    assert [(str(u.offset), u.speaker + ":", u.text) for u in utterances] == [
        (str(timedelta(hours=int(t[:2]), minutes=int(t[3:5]), seconds=int(t[6:]))), name, text)
        for t, name, text in expected
    ]


def test_a_cue_has_its_start_speaker_and_text() -> None:
    text = "WEBVTT\n\n1\n00:00:04.859 --> 00:00:07.410\nAndrew Knight: Okay, so we're recording.\n"
    assert vtt(text) == (Utterance(timedelta(seconds=4.859), "Andrew Knight", "Okay, so we're recording."),)


def test_cue_forms_zoom_and_webvtt_allow() -> None:
    text = (
        "\ufeffWEBVTT - captions\nKind: captions\n\nNOTE made by hand\nnot said\n\n"
        "intro\n01:02.5 --> 01:03.000\nAnd that\nwent on\n\n"
        "2\r\n1:00:00.000 --> 1:00:01.000 align:start\r\n<v Bob Baker>Hi there</v>\r\n"
    )
    assert vtt(text) == (
        Utterance(timedelta(minutes=1, seconds=2.5), "", "And that went on"),  # no speaker: Zoom did not know
        Utterance(timedelta(hours=1), "Bob Baker", "Hi there"),
    )


def test_a_damaged_transcript_still_yields_every_line() -> None:
    text = (
        "WEBVTT\n1\n00:00:01.000 --> 00:00:02.000\nAlice: one\n2\n00:00:03.000 --> 00:00:04.000\nBob: two\n\n"
        "stray words\n\n3\n00:00:05.000 --> 00:00:06.000\nAlice: thr"
    )
    assert vtt(text) == (
        Utterance(timedelta(seconds=1), "Alice", "one"),  # no blank line before the next cue
        Utterance(timedelta(seconds=3), "Bob", "two"),
        Utterance(None, "", "stray words"),
        Utterance(timedelta(seconds=5), "Alice", "thr"),  # cut off mid-cue
    )
    assert vtt("WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nAlice: one\n\n2\n") == (
        Utterance(timedelta(seconds=1), "Alice", "one"),
    )


def test_every_cue_of_a_real_transcript_is_read() -> None:
    data = shared_file("samples/zoom/cloud-transcript.vtt").read_bytes()
    utterances = read("TRANSCRIPT", io.BytesIO(data)).utterances
    assert len(utterances) == 300
    assert utterances[33] == Utterance(timedelta(minutes=2, seconds=30.06), "", "And that")
    assert utterances[-1].speaker == "Andrew Knight" and utterances[-1].text.endswith("See you in our next program.")


def test_bytes_that_are_not_utf8_become_replacement_characters() -> None:
    transcript = read("CHAT", io.BytesIO(b"00:00:01\tA\xff:\t\xc3(\r\n"))
    assert transcript.utterances == (Utterance(timedelta(seconds=1), "A\ufffd", "\ufffd("),)


def test_reading_stops_at_the_limit_and_says_the_file_goes_on() -> None:
    data = b"".join(b"00:00:%02d\tA:\tline %d\r\n" % (n, n) for n in range(60))
    short = read("CHAT", io.BytesIO(data), limit=100)
    assert 0 < len(short.utterances) < 60 and not short.complete
    assert read("CHAT", io.BytesIO(data)).complete
    endless = read("TRANSCRIPT", io.BytesIO(b"x" * 1_000_000), limit=1000)  # one line with no end
    assert len(endless.utterances[0].text) == 1000 and not endless.complete


def test_parsers_take_any_lines() -> None:
    assert parse_chat([]) == () and parse_vtt([]) == ()
    assert parse_vtt(["WEBVTT"]) == ()


# Every chat file of the corpus (tests/samples/zoom/chat, one per layout Zoom has written), and how many messages
# each holds: counted by hand from the file's message headers (a time, or "From", starting a line).
CHATS = {
    "cloud-chat-file.txt": 10,  # ../shared/samples/zoom
    "cloud-2025-acdc154-forkcast.txt": 310,
    "cloud-2026-acdc173-forkcast.txt": 125,
    "local-2022-zehua-chen.txt": 5,
    "local-2023-bushong1.txt": 15,
    "pasted-2020-ethereum-pm-acde095.txt": 72,
    "pasted-2021-ethereum-pm-acde124.txt": 94,
    "pasted-2021-ethereum-pm-feemarket08.txt": 11,
    "pasted-2022-ethereum-pm-acdc092.txt": 78,
}


def corpus_chat(name: str) -> tuple[Utterance, ...]:
    return read("CHAT", sample(f"chat/{name}").open("rb")).utterances


def test_the_corpus_holds_the_chat_files_counted_here() -> None:
    assert {p.name for p in chat_files()} | set(IN_SHARED["chat"]) == set(CHATS)


@pytest.mark.parametrize(("name", "messages"), sorted(CHATS.items()))
def test_every_message_of_every_real_chat_layout_has_its_time_sender_and_text(name: str, messages: int) -> None:
    said = corpus_chat(name)
    assert len(said) == messages
    assert all(u.speaker and (u.offset is not None or u.clock) and u.text for u in said)
    text = sample(f"chat/{name}").read_text(encoding="utf-8-sig")
    assert all(u.text.split("\n")[0].strip() in text or u.kind != "message" for u in said)  # words as written


def test_a_cloud_chat_keeps_replies_with_their_lines_and_reactions() -> None:
    said = corpus_chat("cloud-2025-acdc154-forkcast.txt")
    assert said[1] == Utterance(timedelta(minutes=7), "nixo", "gm", refers_to="Gm :)", kind="reply")
    reaction = next(u for u in said if u.kind == "reaction")
    assert (reaction.speaker, reaction.text, reaction.refers_to) == (
        "Katya Riazantseva",
        "\u2764\ufe0f",
        "goooooooood morning ...",
    )
    assert sum(u.kind == "reply" for u in said) == 61 and sum(u.kind == "reaction" for u in said) == 109


def test_a_saved_chat_names_the_recipient_and_marks_a_direct_message_private() -> None:
    said = corpus_chat("local-2023-bushong1.txt")
    assert said[0] == Utterance(None, "John Doe", "Good morning folks", recipient="Everyone", clock="10:01:00")
    dm = next(u for u in said if u.private)
    assert (dm.speaker, dm.recipient, dm.text, dm.clock) == ("John Doe", "Open Mike", "Please mute", "10:03:00")
    assert [(u.kind, u.refers_to) for u in said if u.kind != "message"] == [
        ("reply", "Good morning folks"),
        ("reply", "Good morning folks"),
        ("reply", "Hello world, this me..."),
        ("reaction", "Good morning folks"),
        ("reaction removed", "Good morning folks"),
    ]
    assert next(u for u in said if u.speaker.startswith("Charlie")).speaker == "Charlie Barlie (she/her)"


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [
        ("local-2022-zehua-chen.txt", 4, ("Person 1", "Person 2", True, "16:15:17", "search")),
        ("pasted-2022-ethereum-pm-acdc092.txt", 0, ("Trent", "Everyone", False, "10:00:49", "gmgmgm")),
        (
            "pasted-2022-ethereum-pm-acdc092.txt",
            22,
            ("xinbenlv.eth", "Pooja Ranjan", True, "10:27:14", "Pooja, do you know if there is a live note?"),
        ),
        ("pasted-2021-ethereum-pm-feemarket08.txt", 0, ("JosephC", "", False, "11:00:43", "I can look it up")),
        (
            "pasted-2020-ethereum-pm-acde095.txt",
            0,
            ("Edson Ayllon", "Everyone", False, "10:04 AM", "Agenda: https://github.com/ethereum/pm/issues/203"),
        ),
        ("pasted-2021-ethereum-pm-acde124.txt", 93, ("Micah Zoltu", "Everyone", False, "16:00:34", "\U0001f606")),
    ],
)
def test_each_saved_layout_gives_sender_recipient_privacy_time_and_text(
    name: str, index: int, expected: tuple[str, str, bool, str, str]
) -> None:
    u = corpus_chat(name)[index]
    assert (u.speaker, u.recipient, u.private, u.clock, u.text) == expected


def test_a_message_copied_from_the_chat_panel_privately_is_marked_private() -> None:
    private = [u for u in corpus_chat("pasted-2020-ethereum-pm-acde095.txt") if u.private]
    assert [(u.speaker, u.recipient, u.clock) for u in private] == [("Alex (axic)", "Me", "11:01 AM")]
    assert private[0].text.startswith("I know that ignoring the transactiontype field")


def test_a_saved_message_on_several_lines_is_one_message() -> None:
    said = chat(
        "10:00:00 From  Ann  to  Everyone:\n\tfirst line\n\tsecond line\n10:01:00 From  Bo  to  Everyone:\n\tok\n"
    )
    assert [u.text for u in said] == ["first line\nsecond line", "ok"]


def test_other_languages_words_in_the_saved_layout_are_read_by_their_places() -> None:
    said = chat("16:20:25\t De  victormln : Hi!\r\n09:01:02\t Von  Anna  an  Ben(Direct Message) : Hallo\r\n")
    assert [(u.speaker, u.recipient, u.private, u.text) for u in said] == [
        ("victormln", "", False, "Hi!"),
        ("Anna", "Ben", True, "Hallo"),
    ]


@pytest.mark.parametrize("path", transcript_files(), ids=lambda p: p.name)
def test_every_cue_of_every_real_transcript_is_read(path: Path) -> None:
    cues = path.read_text(encoding="utf-8-sig").count(" --> ")
    said = read("TRANSCRIPT", path.open("rb")).utterances
    assert len(said) == cues and all(u.offset is not None and u.text for u in said)
