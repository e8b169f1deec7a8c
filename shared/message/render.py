"""Text and HTML from the templates in `templates/`, under one escaping rule.

Every value a template shows is escaped for HTML (Jinja2's autoescape, MarkupSafe's escaping) unless it is
already markup, which only a template or this module makes (Markdown from Zoom through `markdown_html`, which
escapes any HTML in it); the text body (`*.txt`) is plain text and escapes
nothing. A name a template uses that it was not given is an error, never an empty string (StrictUndefined).
The message bodies, the section the importer adds for files stored apart, and the status page all come from
here.

Line breaks between tags in an HTML template are for whoever reads the template: they are not output, so a
body is one line, as it always was (the encoding the `email` package picks for it follows its line lengths).
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.ext import Extension
from markdown_it import MarkdownIt
from markupsafe import Markup

# Line breaks, and the indentation after them, between two tags (HTML or template) of an HTML template.
_BETWEEN_TAGS = re.compile(r"(>|%\}|\}\}|#\})[ \t]*\n\s*(?=<|\{[%{#])")


class _JoinLines(Extension):
    """Drops the line breaks between tags of an HTML template's source (text is left as it is)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _BETWEEN_TAGS.sub(r"\1", source) if name and name.endswith(".html") else source


def line_breaks(value: str) -> Markup:
    """Text with its line breaks shown as <br>, every line escaped."""
    return Markup("<br>").join(value.split("\n"))


# CommonMark without raw HTML (an HTML tag in Zoom's Markdown is shown as text, escaped) and without images (an
# image would be fetched by the reader's mail client); markdown-it refuses javascript:, vbscript: and data: links.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")


def markdown_html(text: str) -> Markup:
    """Markdown from Zoom (the AI summary's `summary_content`) as HTML that carries no markup of Zoom's own."""
    # markdown-it escapes every character of the text that HTML gives a meaning to (raw HTML is off): the
    # markup in its output is only what the Markdown syntax makes.
    return Markup(_MARKDOWN.render(text)) if text else Markup("")  # noqa: S704


def counted(count: int, noun: str) -> str:
    """`1 answer`, `2 answers`: a count with its noun, singular or plural (nouns that take an s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


TEMPLATES = Environment(
    loader=PackageLoader("shared.message", "templates"),
    autoescape=select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=[_JoinLines],
)
TEMPLATES.filters["breaks"] = line_breaks
TEMPLATES.filters["counted"] = counted


def render_template(template: str, **values: Any) -> str:
    return TEMPLATES.get_template(template).render(**values)
