"""What was said: chat and transcript files become timed lines, and no line is lost however damaged the file."""

from __future__ import annotations

import io
from datetime import timedelta

from shared.transcript import Utterance, parse_chat, parse_vtt, read
from tests.conftest import shared_file


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
