"""Zoom's published OpenAPI specs as an oracle for the Zoom emulator and for our requests.

Contract tests ask it which operation a request reaches, that operation's rate-limit label and query
parameters, and whether a response body fits the schema Zoom publishes for it. The specs are read from
`../shared/specs/zoom/` (see `SPEC_DIR`), never copied into the project.

The specs are OpenAPI 3.0 with every schema inline (no `$ref`). Response bodies are checked by a small
validator for the keywords those schemas use; a keyword it does not know raises `NotImplementedError`
instead of being skipped, so the oracle never passes a body it did not check. Where real Zoom traffic
is known to differ from the spec (../shared/specs/SOURCES.md, ../shared/reference/zoom-api.md), the
difference is accepted by one entry of `TOLERANCES`, each as narrow as the quirk it describes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "zoom"
SPEC_FILES = ("meetings-openapi.json", "users-openapi.json")

_METHODS = ("get", "put", "post", "patch", "delete")
# "**[Rate Limit Label](https://...):** `MEDIUM`", in each operation's description; the spec writes some
# labels in title case ("Heavy"), and POST /devices carries the same label twice.
_LABEL = re.compile(r"Rate Limit Label\]\([^)]*\):\*\*\s*`([^`]+)`")
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# Keywords that describe a value without constraining it (so do all "x-" extensions).
_ANNOTATIONS = {"description", "example", "default", "title", "deprecated"}

Path_ = tuple[str | int, ...]  # where a value sits in a body: ("meetings", 0, "type")


@dataclass(frozen=True)
class Tolerance:
    """One known difference between real Zoom traffic and the spec, accepted where it occurs."""

    name: str
    source: str
    applies: Callable[[Path_, str, dict[str, Any], Any], bool]  # (where, failed keyword, schema, value)


def _in_recording_file(where: Path_, *fields: str) -> bool:
    return len(where) >= 3 and where[-3] == "recording_files" and where[-1] in fields


TOLERANCES = (
    # GET /users/{userId}/recordings and /meetings/{meetingId}/recordings enumerate the meeting `type` as
    # the strings "1".."99"; real responses carry the integer (e.g. "type": 8).
    Tolerance(
        "meeting type as an integer",
        "zoom-api.md §2.3; SOURCES.md",
        lambda where, keyword, schema, value: (
            where[-1:] == ("type",)
            and keyword in ("type", "enum")
            and type(value) is int
            and str(value) in schema.get("enum", ())
        ),
    ),
    # The `file_type` description documents TIMELINE files ("Timestamp file of the recording in JSON file
    # format"), but its enum omits TIMELINE.
    Tolerance(
        "TIMELINE recording file",
        "the spec's own file_type description; zoom-api.md §3.1",
        lambda where, keyword, schema, value: (
            keyword == "enum" and value == "TIMELINE" and _in_recording_file(where, "file_type")
        ),
    ),
    # A recording file still being processed arrives with empty `file_type` and `file_extension`.
    Tolerance(
        "recording file still processing",
        "zoom-api.md §3.1 (ZoomNet issue #99 capture); SOURCES.md",
        lambda where, keyword, schema, value: (
            keyword == "enum" and value == "" and _in_recording_file(where, "file_type", "file_extension")
        ),
    ),
    # SUB_GROUP_MEMBER_LOG is in the archive file `file_type` enum, but the `recording_type` enum (a required
    # field) has no value for it; what Zoom sends there is not documented: the emulator sends "".
    Tolerance(
        "archive member log without a recording_type",
        "GET /archive_files in meetings-openapi.json: the file_type and recording_type enums",
        lambda where, keyword, schema, value: (
            keyword == "enum"
            and value == ""
            and where[-3:-2] == ("archive_files",)
            and where[-1:] == ("recording_type",)
        ),
    ),
    # Archive `complete_time` is `{type: string, format: date-time, anyOf: [{type: object, format: date-time,
    # minLength: 1}, {type: string, enum: [""]}]}`: the first branch means a date-time string but says
    # `type: object`, so even the spec's own example ("2021-03-12T02:57:27Z") fails, and the outer
    # `format` refuses the "" that the second branch allows. Both readings the spec intends pass; any
    # other string still fails the date-time format.
    Tolerance(
        "archive complete_time: a date-time or empty",
        "GET /archive_files and /past_meetings/{meetingUUID}/archive_files in meetings-openapi.json",
        lambda where, keyword, schema, value: (
            where[-1:] == ("complete_time",)
            and isinstance(value, str)
            and ((keyword == "type" and schema.get("type") == "object") or (keyword == "format" and value == ""))
        ),
    ),
)


@dataclass(frozen=True)
class Operation:
    """One operation of Zoom's spec: method, templated path and its OpenAPI operation object."""

    method: str
    path: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def rate_limit_label(self) -> str | None:
        """LIGHT, MEDIUM, HEAVY or RESOURCE-INTENSIVE: which of Zoom's rate limits the call counts against."""
        labels = {label.strip().upper() for label in _LABEL.findall(self.spec.get("description", ""))}
        if len(labels) > 1:
            raise ValueError(f"{self.method} {self.path} has conflicting rate limit labels in Zoom's spec: {labels}")
        return labels.pop() if labels else None

    def query_parameter(self, name: str) -> dict[str, Any]:
        """The spec's parameter object (with its `schema`, e.g. `maximum` of `page_size`)."""
        for parameter in self.spec.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] == name:
                return parameter
        raise KeyError(f"{self.method} {self.path} has no query parameter {name!r} in Zoom's spec")

    def validate_response(self, status: int, body: Any) -> list[str]:
        """Why `body` does not fit the spec's JSON schema for `status`; empty when it fits.

        A status the spec does not list is a problem; a listed status without a JSON schema (most error
        statuses, 204) leaves nothing to check.
        """
        response = self.spec["responses"].get(str(status))
        if response is None:
            return [f"{self.method} {self.path} lists no {status} response in Zoom's spec"]
        schema = (response.get("content") or {}).get("application/json", {}).get("schema")
        return [] if schema is None else _validate(schema, body, ())


class ZoomSpec:
    """The operations of Zoom's Meetings and Users specs, found by concrete request paths."""

    def __init__(self, operations: list[Operation]):
        self._templates: dict[str, list[tuple[tuple[str | None, ...], Operation]]] = {}
        for operation in operations:
            segments = tuple(None if s.startswith("{") else s for s in operation.path.strip("/").split("/"))
            self._templates.setdefault(operation.method, []).append((segments, operation))

    @classmethod
    def load(cls, spec_dir: Path = SPEC_DIR) -> ZoomSpec:
        """Read both specs (Meetings, with recordings and reports, and Users)."""
        operations = []
        for name in SPEC_FILES:
            spec = json.loads((spec_dir / name).read_text(encoding="utf-8"))
            for path, item in spec["paths"].items():
                operations += [Operation(m.upper(), path, op) for m, op in item.items() if m in _METHODS]
        return cls(operations)

    def operation(self, method: str, path: str) -> Operation:
        """The operation a request reaches, e.g. GET /v2/past_meetings/%252Fabc%253D%253D/participants.

        Path segments are matched as sent, still percent-encoded, so a double-encoded UUID stays one
        segment; literal segments win over parameters (/meetings/meeting_summaries over /meetings/{id}).
        """
        segments = urlsplit(path).path.strip("/").split("/")
        if segments[0] == "v2":
            segments = segments[1:]
        candidates = [
            (tuple(s is None for s in template), operation)
            for template, operation in self._templates.get(method.upper(), [])
            if len(template) == len(segments)
            and all(t == s if t is not None else s != "" for t, s in zip(template, segments, strict=True))
        ]
        if not candidates:
            raise LookupError(f"no operation of Zoom's spec matches {method.upper()} {path}")
        return min(candidates, key=lambda candidate: candidate[0])[1]


def _validate(schema: dict[str, Any], value: Any, where: Path_) -> list[str]:
    """The JSON Schema checks OpenAPI 3.0 gives these keywords, each failure offered to `TOLERANCES`."""
    node = _Node(schema, value, where)
    if value is None:
        if not schema.get("nullable") and "type" in schema:
            node.fail("type", "null where the spec does not say nullable")
        return node.problems
    expected = schema.get("type")
    if expected is not None and not _has_type(value, expected):
        node.fail("type", f"{value!r} is not of type {expected!r}")
        if node.problems:
            return node.problems
    for keyword, argument in schema.items():
        if keyword in _ANNOTATIONS or keyword in ("type", "nullable") or keyword.startswith("x-"):
            continue
        check = _KEYWORDS.get(keyword)
        if check is None:
            raise NotImplementedError(f"schema keyword {keyword!r} at {_pointer(where)} is not checked by the oracle")
        check(argument, node)
    return node.problems


@dataclass
class _Node:
    """One value being checked against one schema, and the problems found so far."""

    schema: dict[str, Any]
    value: Any
    where: Path_
    problems: list[str] = field(default_factory=list)

    def fail(self, keyword: str, message: str) -> None:
        if not any(t.applies(self.where, keyword, self.schema, self.value) for t in TOLERANCES):
            self.problems.append(f"{_pointer(self.where)}: {message}")

    def descend(self, schema: dict[str, Any], value: Any, where: Path_) -> None:
        self.problems += _validate(schema, value, where)


def _has_type(value: Any, expected: str) -> bool:
    if expected == "integer":
        return type(value) is int
    if expected == "number":
        return type(value) in (int, float)
    return isinstance(value, {"string": str, "boolean": bool, "object": dict, "array": list}[expected])


def _enum(allowed: list[Any], node: _Node) -> None:
    if not any(node.value == a and type(node.value) is type(a) for a in allowed):
        node.fail("enum", f"{node.value!r} is not one of {allowed}")


def _format(name: str, node: _Node) -> None:
    # Only the formats the archiver parses are checked; int64, email, uri and the others only describe.
    checks = {"date-time": (_DATE_TIME, datetime.fromisoformat), "date": (_DATE, date.fromisoformat)}
    if name not in checks or not isinstance(node.value, str):
        return
    pattern, parse = checks[name]
    try:
        valid = bool(pattern.fullmatch(node.value)) and bool(parse(node.value))
    except ValueError:
        valid = False
    if not valid:
        node.fail("format", f"{node.value!r} is not a {name}")


def _bound(
    keyword: str, holds: Callable[[Any, Any], bool], measure: Callable[[Any], Any], kind: type | tuple[type, ...]
) -> Callable[[Any, _Node], None]:
    def check(limit: Any, node: _Node) -> None:
        value = node.value
        if isinstance(value, kind) and type(value) is not bool and not holds(measure(value), limit):
            node.fail(keyword, f"{value!r} breaks {keyword} {limit}")

    return check


def _pattern(regex: str, node: _Node) -> None:
    if isinstance(node.value, str) and not re.search(regex, node.value):
        node.fail("pattern", f"{node.value!r} does not match {regex!r}")


def _properties(properties: dict[str, Any], node: _Node) -> None:
    if isinstance(node.value, dict):
        for name, schema in properties.items():
            if name in node.value:
                node.descend(schema, node.value[name], (*node.where, name))


def _required(names: list[str], node: _Node) -> None:
    if isinstance(node.value, dict):
        for name in names:
            if name not in node.value:
                node.fail("required", f"required property {name!r} is missing")


def _additional_properties(allowed: bool | dict[str, Any], node: _Node) -> None:
    if not isinstance(node.value, dict):
        return
    for name in sorted(node.value.keys() - node.schema.get("properties", {}).keys()):
        if allowed is False:
            node.fail("additionalProperties", f"property {name!r} is not in the spec")
        elif isinstance(allowed, dict):
            node.descend(allowed, node.value[name], (*node.where, name))


def _items(schema: dict[str, Any], node: _Node) -> None:
    if isinstance(node.value, list):
        for index, item in enumerate(node.value):
            node.descend(schema, item, (*node.where, index))


def _all_of(schemas: list[dict[str, Any]], node: _Node) -> None:
    for schema in schemas:
        node.descend(schema, node.value, node.where)


def _any_of(schemas: list[dict[str, Any]], node: _Node) -> None:
    results = [_validate(schema, node.value, node.where) for schema in schemas]
    if all(results):
        node.fail("anyOf", "matches none of anyOf: " + "; ".join(r[0] for r in results))


def _one_of(schemas: list[dict[str, Any]], node: _Node) -> None:
    matching = sum(not _validate(schema, node.value, node.where) for schema in schemas)
    if matching != 1:
        node.fail("oneOf", f"matches {matching} of the oneOf schemas, not exactly one")


def _pointer(where: Path_) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)


_KEYWORDS: dict[str, Callable[[Any, _Node], None]] = {
    "enum": _enum,
    "format": _format,
    "maximum": _bound("maximum", lambda n, limit: n <= limit, lambda v: v, (int, float)),
    "minimum": _bound("minimum", lambda n, limit: n >= limit, lambda v: v, (int, float)),
    "maxLength": _bound("maxLength", lambda n, limit: n <= limit, len, str),
    "minLength": _bound("minLength", lambda n, limit: n >= limit, len, str),
    "maxItems": _bound("maxItems", lambda n, limit: n <= limit, len, list),
    "minItems": _bound("minItems", lambda n, limit: n >= limit, len, list),
    "pattern": _pattern,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional_properties,
    "items": _items,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
}
