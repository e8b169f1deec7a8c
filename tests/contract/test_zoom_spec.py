"""The Zoom spec oracle: operations found from request paths, their rate-limit labels, and response checks.

The specs are Zoom's published OpenAPI files (../shared/specs/zoom); the example bodies are assembled from
the spec's own per-field examples (../shared/samples/zoom/spec-example-*.json).
"""

import copy
import json
import re
from typing import Any

import pytest

from shared.zoom import ENDPOINTS
from tests.conftest import shared_file
from tests.contract.zoom_spec import Operation, ZoomSpec


def sample(name: str) -> Any:
    return json.loads(shared_file(f"samples/zoom/{name}").read_text())


def recordings_page() -> dict[str, Any]:
    """A first page of GET /users/{userId}/recordings built from the spec's examples."""
    return copy.deepcopy(sample("spec-example-user-recordings.json"))


def example_of(schema: dict[str, Any]) -> Any:
    """A body assembled from the per-field `example` values of a response schema (None: no example)."""
    if "example" in schema and schema.get("type") not in ("object", "array"):
        return schema["example"]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(example_of(part) or {})
        return merged
    if "anyOf" in schema or "oneOf" in schema:
        return example_of((schema.get("anyOf") or schema["oneOf"])[0])
    if schema.get("type") == "array":
        item = example_of(schema.get("items", {}))
        return [] if item is None else [item]
    if schema.get("type") == "object" or "properties" in schema:
        examples = {name: example_of(part) for name, part in schema.get("properties", {}).items()}
        return {name: value for name, value in examples.items() if value is not None}
    return None


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "85746065432", template)


@pytest.mark.parametrize("template", sorted(ENDPOINTS))
def test_the_spec_examples_of_the_archivers_endpoints_validate(spec: ZoomSpec, template: str) -> None:
    operation = spec.operation("GET", concrete(template))
    schema = operation.spec["responses"]["200"]["content"]["application/json"]["schema"]
    assert operation.validate_response(200, example_of(schema)) == []


def test_labels_in_title_case_are_normalised_and_a_missing_label_is_none(spec: ZoomSpec) -> None:
    """The spec writes "Heavy" for GET /report/meetings/{meetingId} and gives no label for recording analytics."""
    assert "`Heavy`" in spec.operation("GET", "/report/meetings/1").spec["description"]
    assert spec.operation("GET", "/report/meetings/1").rate_limit_label == "HEAVY"
    assert spec.operation("GET", "/meetings/1/recordings/analytics_details").rate_limit_label is None


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/past_meetings/%252Fajxp112QmuoKj4854875%253D%253D/participants", "/past_meetings/{meetingId}/participants"),
        ("/v2/past_meetings/abc%253D%253D/participants", "/past_meetings/{meetingId}/participants"),
        ("https://api.zoom.us/v2/users/u1/recordings?from=2024-05-01&to=2024-05-31", "/users/{userId}/recordings"),
        ("/meetings/meeting_summaries", "/meetings/meeting_summaries"),
        ("/meetings/85746065432", "/meetings/{meetingId}"),
    ],
)
def test_concrete_paths_reach_their_operation(spec: ZoomSpec, path: str, template: str) -> None:
    """Double-encoded UUIDs stay one segment; a literal segment wins over a parameter."""
    assert spec.operation("get", path).path == template


def test_a_uuid_with_a_raw_slash_reaches_no_operation(spec: ZoomSpec) -> None:
    """Why a UUID beginning with "/" must be double-encoded: sent raw it splits the path."""
    with pytest.raises(LookupError, match="GET /past_meetings//ajxp112Qmuo==/participants"):
        spec.operation("GET", "/past_meetings//ajxp112Qmuo==/participants")


@pytest.mark.parametrize(
    ("path", "maximum"),
    [("/users", 2000), ("/users/me/recordings", 300), ("/past_meetings/x/participants", 300)],
)
def test_page_size_maximum_comes_from_the_spec(spec: ZoomSpec, path: str, maximum: int) -> None:
    assert spec.operation("GET", path).query_parameter("page_size")["schema"]["maximum"] == maximum


def test_an_undeclared_query_parameter_is_an_error(spec: ZoomSpec) -> None:
    with pytest.raises(KeyError, match="page_number"):
        spec.operation("GET", "/users/me/recordings").query_parameter("page_number")


def test_the_spec_example_bodies_validate(spec: ZoomSpec) -> None:
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, recordings_page()) == []
    archive = sample("spec-example-archive-files.json")
    assert spec.operation("GET", "/archive_files").validate_response(200, archive) == []


def test_wrong_types_and_bounds_fail(spec: ZoomSpec) -> None:
    body = recordings_page()
    body["total_records"] = "1"
    body["page_size"] = 301
    body["meetings"][0]["recording_files"][0]["file_size"] = "7220"
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) == [
        "$.page_size: 301 breaks maximum 300",
        "$.total_records: '1' is not of type 'integer'",
        "$.meetings[0].recording_files[0].file_size: '7220' is not of type 'number'",
    ]


def test_a_status_the_spec_does_not_list_fails_and_one_without_a_schema_has_nothing_to_check(spec: ZoomSpec) -> None:
    operation = spec.operation("GET", "/users/me/recordings")
    assert operation.validate_response(500, {}) == [
        "GET /users/{userId}/recordings lists no 500 response in Zoom's spec"
    ]
    assert operation.validate_response(404, {"code": 1001, "message": "User does not exist: me."}) == []


# Real Zoom traffic that differs from the spec, each accepted by one tolerance and refused elsewhere.


def test_meeting_type_arrives_as_an_integer(spec: ZoomSpec) -> None:
    body = recordings_page()
    body["meetings"][0]["type"] = 8
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) == []
    body["meetings"][0]["type"] = 12
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) == [
        "$.meetings[0].type: 12 is not of type 'string'"
    ]


def test_an_integer_enum_still_refuses_a_string(spec: ZoomSpec) -> None:
    """GET /past_meetings/{meetingId} enumerates `type` as integers: the tolerance does not loosen it."""
    assert spec.operation("GET", "/past_meetings/1").validate_response(200, {"type": "8"}) == [
        "$.type: '8' is not of type 'integer'"
    ]


def test_cc_and_timeline_files_lack_id_status_size_type_and_play_url(spec: ZoomSpec) -> None:
    body = recordings_page()
    body["meetings"][0]["recording_files"] += [
        {"meeting_id": "L0AGOEPVR9m5WSOOs/d+FQ==", "file_type": kind, "download_url": "https://example.com/rec/x"}
        for kind in ("CC", "TIMELINE")
    ]
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) == []


def test_timeline_is_accepted_only_as_a_recording_file_type(spec: ZoomSpec) -> None:
    archive = sample("spec-example-archive-files.json")
    archive["meetings"][0]["archive_files"][0]["file_type"] = "TIMELINE"
    assert spec.operation("GET", "/archive_files").validate_response(200, archive) == [
        "$.meetings[0].archive_files[0].file_type: 'TIMELINE' is not one of "
        "['MP4', 'M4A', 'CHAT', 'CC', 'CHAT_MESSAGE', 'TRANSCRIPT', 'SUB_GROUP_MEMBER_LOG']"
    ]


def test_a_file_still_processing_has_empty_type_extension_and_end(spec: ZoomSpec) -> None:
    body = recordings_page()
    file = body["meetings"][0]["recording_files"][0]
    file.update(file_type="", file_extension="", recording_end="", file_size=0)
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) == []
    file["recording_type"] = ""
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) != []


def test_the_last_page_token_is_empty_and_unlisted_fields_pass(spec: ZoomSpec) -> None:
    """Neither needs a tolerance: the token is a plain string and no schema sets additionalProperties."""
    body = recordings_page()
    body["next_page_token"] = ""
    body["meetings"][0].update(share_url="https://example.com/rec/share/x", timezone="Europe/Paris")
    assert spec.operation("GET", "/users/me/recordings").validate_response(200, body) == []


def test_archive_complete_time_is_a_date_time_or_empty(spec: ZoomSpec) -> None:
    """The spec types the date-time branch of its anyOf as an object; the string is accepted, its format kept."""
    operation = spec.operation("GET", "/past_meetings/abc/archive_files")
    archive = sample("spec-example-archive-files.json")["meetings"][0]
    assert operation.validate_response(200, {**archive, "complete_time": ""}) == []
    assert operation.validate_response(200, {**archive, "complete_time": "2021-03-12T02:57:27Z"}) == []
    assert operation.validate_response(200, {**archive, "complete_time": "yesterday"}) != []


# The validator's OpenAPI 3.0 semantics, on schemas of our own.


def responding(schema: dict[str, Any]) -> Operation:
    return Operation("GET", "/x", {"responses": {"200": {"content": {"application/json": {"schema": schema}}}}})


def test_two_different_labels_on_one_operation_are_an_error() -> None:
    label = "**[Rate Limit Label](https://marketplace.zoom.us/docs/api-reference/rate-limits#rate-limits):** `{}`"
    operation = Operation("GET", "/x", {"description": f"{label.format('Light')}\n{label.format('HEAVY')}"})
    with pytest.raises(ValueError, match="conflicting rate limit labels"):
        _ = operation.rate_limit_label


def test_null_passes_only_where_the_schema_is_nullable() -> None:
    assert responding({"type": "string", "nullable": True}).validate_response(200, None) == []
    assert responding({"type": "string"}).validate_response(200, None) == [
        "$: null where the spec does not say nullable"
    ]


def test_one_of_needs_exactly_one_match() -> None:
    operation = responding({"oneOf": [{"type": "integer"}, {"type": "number"}]})
    assert operation.validate_response(200, 1.5) == []
    assert operation.validate_response(200, 1) == ["$: matches 2 of the oneOf schemas, not exactly one"]


def test_additional_properties_false_refuses_unlisted_fields() -> None:
    operation = responding({"type": "object", "properties": {"a": {}}, "additionalProperties": False})
    assert operation.validate_response(200, {"a": 1, "b": 2}) == ["$: property 'b' is not in the spec"]


def test_required_formats_and_lengths_are_checked() -> None:
    operation = responding(
        {
            "type": "object",
            "required": ["id", "from"],
            "properties": {"from": {"type": "string", "format": "date"}, "id": {"type": "string", "maxLength": 3}},
        }
    )
    assert operation.validate_response(200, {"from": "2024-02-30"}) == [
        "$: required property 'id' is missing",
        "$.from: '2024-02-30' is not a date",
    ]
    assert operation.validate_response(200, {"from": "2024-02-29", "id": "abcd"}) == ["$.id: 'abcd' breaks maxLength 3"]


def test_a_keyword_the_oracle_does_not_know_is_never_skipped() -> None:
    with pytest.raises(NotImplementedError, match="uniqueItems"):
        responding({"type": "array", "uniqueItems": True}).validate_response(200, [1, 1])
