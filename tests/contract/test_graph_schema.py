"""The Graph schema oracle: which request bodies Graph accepts, and what it answers to the others.

Bodies come from Microsoft's documentation samples (../shared/samples/graph) and from the archiver's own
item create; the schema is Graph's published CSDL (../shared/specs/graph).
"""

import base64
import json
from typing import Any

import pytest

from emulators.graph.schema import CSDL_PATH, GraphSchema, SchemaError
from tests.conftest import shared_file

MESSAGE = "microsoft.graph.message"
NO_SUCH_PROPERTY = "Make sure to only use property names that are defined by the type or mark the type as open type."
ARCHIVE_KEY_ID = "String {8d5c2f6e-3a1b-4c7d-9e0f-112233445566} Name ZoomArchiveKey"


@pytest.fixture(scope="module")
def schema() -> GraphSchema:
    if not CSDL_PATH.is_file():
        pytest.skip("../shared/specs/graph/v1.0-Prod.csdl not found: contract checks need Graph's published schema")
    return GraphSchema.load(CSDL_PATH)


def sample(name: str) -> Any:
    return json.loads(shared_file(f"samples/graph/{name}").read_text())


def archiver_item_create() -> dict[str, Any]:
    """A message create built the way the archiver builds one: non-draft flags, dates and key as SVEPs."""
    host = {"emailAddress": {"name": "Ada Host", "address": "ada@contoso.com"}}
    return {
        "subject": "Zoom meeting: Weekly sync (2024-05-02 09:00 UTC)",
        "body": {"contentType": "html", "content": "<html><body><h1>Weekly sync</h1></body></html>"},
        "from": host,
        "sender": host,
        "toRecipients": [{"emailAddress": {"name": "Bob Lee", "address": "bob@contoso.com"}}, host],
        "internetMessageId": "<zoom-BOKXuumlTAGXuqwr3bLyuQ@archiver.invalid>",
        "singleValueExtendedProperties": [
            {"id": "Integer 0x0E07", "value": "1"},
            {"id": "SystemTime 0x0039", "value": "2024-05-02T09:00:00Z"},
            {"id": "SystemTime 0x0E06", "value": "2024-05-02T10:05:00Z"},
            {"id": ARCHIVE_KEY_ID, "value": "BOKXuumlTAGXuqwr3bLyuQ=="},
        ],
        "attachments": [
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": "chat.txt",
                "contentType": "text/plain",
                "contentBytes": base64.b64encode(b"00:01:02\tAda Host:\tHello\r\n").decode(),
            }
        ],
    }


def test_the_csdl_loads_once_per_file(schema: GraphSchema) -> None:
    assert GraphSchema.load(CSDL_PATH) is schema


@pytest.mark.parametrize(
    ("type_name", "name", "part"),
    [
        (MESSAGE, "02_create_message_json_request.json", None),
        ("microsoft.graph.mailFolder", "05_create_child_folder_request.json", None),
        ("microsoft.graph.attachmentItem", "03_attachment_createuploadsession_request.json", "AttachmentItem"),
        (MESSAGE, "06_svep_patch_request.json", None),
    ],
)
def test_documentation_request_bodies_pass(schema: GraphSchema, type_name: str, name: str, part: str | None) -> None:
    body = sample(name)
    assert schema.check(type_name, body[part] if part else body) == []


def test_enum_members_match_without_regard_to_case(schema: GraphSchema) -> None:
    """Graph's own create sample sends "Low" and "HTML" for the members low and html."""
    assert schema.check(MESSAGE, {"importance": "HIGH", "body": {"contentType": "Text"}}) == []


def test_the_archivers_item_create_passes(schema: GraphSchema) -> None:
    assert schema.check(MESSAGE, archiver_item_create()) == []


def test_an_odata_type_selects_a_derived_type_at_the_top_too(schema: GraphSchema) -> None:
    attachment = archiver_item_create()["attachments"][0]
    assert schema.check("microsoft.graph.attachment", attachment) == []
    assert schema.check("microsoft.graph.fileAttachment", {**attachment, "@odata.type": None}) != []


def test_null_is_accepted_where_the_property_is_nullable(schema: GraphSchema) -> None:
    assert schema.check(MESSAGE, {"subject": None, "from": None, "body": {"content": None}}) == []


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        pytest.param(
            {"subject": "x", "isJunk": True},
            "isJunk",
            f"The property 'isJunk' does not exist on type 'microsoft.graph.message'. {NO_SUCH_PROPERTY}",
            id="unknown property",
        ),
        pytest.param(
            {"Subject": "x"},
            "Subject",
            f"The property 'Subject' does not exist on type 'microsoft.graph.message'. {NO_SUCH_PROPERTY}",
            id="property names are case-sensitive",
        ),
        pytest.param(
            {"toRecipients": [{"emailAddress": {"adress": "bob@contoso.com"}}]},
            "toRecipients[0].emailAddress.adress",
            f"The property 'adress' does not exist on type 'microsoft.graph.emailAddress'. {NO_SUCH_PROPERTY}",
            id="unknown property in a complex type",
        ),
        pytest.param(
            {"isRead": "yes"},
            "isRead",
            "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'.",
            id="string for a boolean",
        ),
        pytest.param(
            {"singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": 1}]},
            "singleValueExtendedProperties[0].value",
            "Cannot convert a value of type 'Edm.Int32' to the expected target type 'Edm.String'.",
            id="number for a string",
        ),
        pytest.param(
            {"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "size": 3.0}]},
            "attachments[0].size",
            "Cannot convert a value of type 'Edm.Double' to the expected target type 'Edm.Int32'.",
            id="fraction for an integer",
        ),
        pytest.param(
            {"importance": "urgent"},
            "importance",
            "Cannot convert the literal 'urgent' to the expected type 'microsoft.graph.importance'.",
            id="bad enum value",
        ),
        pytest.param(
            {"body": {"contentType": "markdown", "content": "x"}},
            "body.contentType",
            "Cannot convert the literal 'markdown' to the expected type 'microsoft.graph.bodyType'.",
            id="bad enum value in a complex type",
        ),
        pytest.param(
            {"attachments": [{"@odata.type": "#microsoft.graph.fileAttachmnt", "name": "a"}]},
            "attachments[0]",
            "A type named 'microsoft.graph.fileAttachmnt' could not be resolved by the model. "
            "When a model is available, each type name must resolve to a valid type.",
            id="unknown odata.type",
        ),
        pytest.param(
            {"attachments": [{"@odata.type": "#microsoft.graph.message"}]},
            "attachments[0]",
            "A resource with type 'microsoft.graph.message' was found, but it is not assignable to the expected "
            "type 'microsoft.graph.attachment'. The type specified in the resource must be equal to either the "
            "expected type or a derived type.",
            id="odata.type not derived from the declared type",
        ),
        pytest.param(
            {"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "contentBytes": "not base64!"}]},
            "attachments[0].contentBytes",
            "Cannot convert the literal 'not base64!' to the expected type 'Edm.Binary'.",
            id="contentBytes not base64",
        ),
        pytest.param(
            {"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "contentBytes": "YWJj="}]},
            "attachments[0].contentBytes",
            "Cannot convert the literal 'YWJj=' to the expected type 'Edm.Binary'.",
            id="contentBytes with wrong padding",
        ),
        pytest.param(
            {"receivedDateTime": "2024-05-02T10:05:00"},
            "receivedDateTime",
            "Cannot convert the literal '2024-05-02T10:05:00' to the expected type 'Edm.DateTimeOffset'.",
            id="date without offset",
        ),
        pytest.param(
            {"sentDateTime": "2024-13-02T10:05:00Z"},
            "sentDateTime",
            "Cannot convert the literal '2024-13-02T10:05:00Z' to the expected type 'Edm.DateTimeOffset'.",
            id="impossible date",
        ),
        pytest.param(
            {"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "isInline": None}]},
            "attachments[0].isInline",
            "A null value was found for the property named 'isInline', which has the expected type 'Edm.Boolean"
            "[Nullable=False]'. The expected type 'Edm.Boolean[Nullable=False]' does not allow null values.",
            id="null where Nullable is false",
        ),
        pytest.param(
            {"body": "They were awesome!"},
            "body",
            "The property with name 'body' was found with a value node of type 'PrimitiveValue'; however, a resource "
            "value of type 'microsoft.graph.itemBody' was expected.",
            id="string for a complex type",
        ),
        pytest.param(
            {"toRecipients": {"emailAddress": {"address": "bob@contoso.com"}}},
            "toRecipients",
            "A node of type 'StartObject' was read from the JSON reader when trying to read the contents of the "
            "property 'toRecipients'; however, a 'StartArray' node was expected.",
            id="object for a collection",
        ),
    ],
)
def test_graph_refuses_with_request_body_read(
    schema: GraphSchema, body: dict[str, Any], path: str, message: str
) -> None:
    assert schema.check(MESSAGE, body) == [SchemaError(400, "RequestBodyRead", message, path)]


def test_an_attachment_of_the_abstract_base_type_is_refused_after_reading(schema: GraphSchema) -> None:
    """Graph reads the body first (400 for what it cannot read), then refuses an abstract type with 422."""
    errors = schema.check(MESSAGE, {"attachments": [{"name": "a.txt", "contentBytes": "YQ=="}, {"name": "b"}]})
    assert [(e.status, e.code, e.path) for e in errors] == [
        (400, "RequestBodyRead", "attachments[0].contentBytes"),
        (422, "UnprocessableType", "attachments[0]"),
        (422, "UnprocessableType", "attachments[1]"),
    ]
    assert errors[0].message == (
        f"The property 'contentBytes' does not exist on type 'microsoft.graph.attachment'. {NO_SUCH_PROPERTY}"
    )
    assert errors[-1].message == "Cannot process input of abstract type 'microsoft.graph.attachment'"


def test_every_error_in_a_body_is_reported_in_document_order(schema: GraphSchema) -> None:
    body = {**archiver_item_create(), "isRead": "yes", "importance": "urgent"}
    assert [e.path for e in schema.check(MESSAGE, body)] == ["isRead", "importance"]


def test_sent_and_received_dates_are_for_the_emulator_to_refuse(schema: GraphSchema) -> None:
    """The CSDL declares both as writable Edm.DateTimeOffset, so the schema passes them, but Outlook answers
    a JSON create that carries them with 400 UnableToDeserializePostBody (microsoftgraph/microsoft-graph-docs#21523;
    ../shared/reference/microsoft-graph.md §1 and §13). The emulator's create route applies that rule itself."""
    dates = {"sentDateTime": "2024-05-02T09:00:00Z", "receivedDateTime": "2024-05-02T10:05:00+02:00"}
    assert schema.check(MESSAGE, {**archiver_item_create(), **dates}) == []


def test_a_type_the_csdl_lacks_is_a_programming_error(schema: GraphSchema) -> None:
    with pytest.raises(ValueError, match=r"microsoft\.graph\.mesage"):
        schema.check("microsoft.graph.mesage", {})
