"""The templates: every value is shown as text in HTML, none in the text body is altered, and a template that
names a value it was not given fails instead of showing nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from jinja2 import UndefinedError
from markupsafe import Markup

from shared.message.render import TEMPLATES, counted, line_breaks, render_template
from tests.unit.message.examples import Page, zoom_text


@given(value=zoom_text)
def test_a_value_in_html_is_text_whatever_it_holds(value: str) -> None:
    page = TEMPLATES.from_string("<p>{{ value }}</p><a href='{{ value }}'>{{ value }}</a>").render(value=value)
    shown = page[len("<p>") : page.index("</p>")]
    # No character that could start a tag or end an attribute's value; the same text everywhere it stands.
    assert not set(shown) & set("<>\"'") and page == f"<p>{shown}</p><a href='{shown}'>{shown}</a>"
    assert Page(page).paragraphs == [value]


def test_line_breaks_show_as_br_and_only_the_text_is_escaped() -> None:
    assert line_breaks("a <b>\nc & d") == Markup("a &lt;b&gt;<br>c &amp; d")


def test_the_text_body_escapes_nothing() -> None:
    assert "<b>" in TEMPLATES.get_template("text_body.txt").render(
        topic="",
        facts=(("Topic", "<b>"),),
        participants=(),
        said=(),
        polls=(),
        poll_answers=0,
        questions=(),
        summaries=(),
        files=(),
        missing=(),
        stored=(),
        addition="",
    )


def test_a_template_given_too_little_fails() -> None:
    with pytest.raises(UndefinedError, match="'files' is undefined"):
        render_template("stored_files.html")


def test_line_breaks_between_tags_are_for_the_reader_of_the_template_only() -> None:
    section = render_template("stored_files.html", files=[])
    assert "\n" not in section.strip() and "the archive&#39;s storage" in section
    assert section.startswith('<div class="notice stored"><h2>Files stored in the archive instead of attached</h2><p>')


def test_a_count_says_its_noun_in_the_singular_only_for_one() -> None:
    assert [counted(n, "answer") for n in (0, 1, 2)] == ["0 answers", "1 answer", "2 answers"]
