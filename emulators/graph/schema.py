"""Microsoft Graph's published schema (CSDL) as an oracle for request bodies.

The Graph emulator must turn away a body that Graph would turn away, with Graph's own error, or our
archiver could pass every local test and still fail against a tenant. `GraphSchema.check` reads a body
the way Graph's OData reader does: against the entity or complex type the request targets, following
base types, complex and collection properties, navigation properties sent inline (a message's
`attachments` and extended properties), `@odata.type` casts to derived types, enums and primitive types.

The CSDL is Graph's published `$metadata`; it is read from `../shared/specs/graph/` (see `CSDL_PATH`) and
never copied into the project. Where the wording of an error could be confirmed from a real Graph
answer, it is used verbatim; the other messages are the OData library's (`Microsoft.OData.Core.txt` in
OData/odata.net), which is what Graph's reader uses. Each message constant names its source.

What the CSDL cannot say, the emulator decides itself: which properties a create may not set
(`sentDateTime`/`receivedDateTime` in a message create, see `UNABLE_TO_DESERIALIZE_POST_BODY`), and the
wrapper object of an action body such as `{"AttachmentItem": {...}}` of `createUploadSession`.
"""

from __future__ import annotations

import binascii
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

CSDL_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "graph" / "v1.0-Prod.csdl"

_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"

# Graph's answers, verbatim where a real one was seen.
# - Unknown property: RequestBodyRead, "The property 'OdataType' does not exist on type
#   'microsoft.graph.message'. Make sure ..." (microsoftgraph/msgraph-sdk-python#440, 2023) and "The property
#   'contentBytes' does not exist on type 'microsoft.graph.attachment'. ..." (microsoft-graph-docs-contrib#310).
# - Unconvertible literal: RequestBodyRead, "Cannot convert the literal '...' to the expected type
#   'Edm.Binary'." (microsoftgraph/msgraph-sdk-powershell#3159, 2025).
# - Abstract type without @odata.type: 422 UnprocessableType, "Cannot process input of abstract type
#   'microsoft.graph.attachment'" (microsoftgraph/msgraph-beta-sdk-dotnet#479, 2022).
# - Unresolvable @odata.type: "A type named 'microsoft.graph.message' could not be resolved by the model."
#   (microsoftgraph/msgraph-sdk-dotnet#984, 2021).
# The remaining templates are ODL's resource strings (OData/odata.net, Microsoft.OData.Core.txt).
BODY_READ = "RequestBodyRead"
_NO_SUCH_PROPERTY = (
    "The property '{0}' does not exist on type '{1}'. "
    "Make sure to only use property names that are defined by the type or mark the type as open type."
)
_LITERAL = "Cannot convert the literal '{0}' to the expected type '{1}'."
_JSON_VALUE = "Cannot convert a value of type '{0}' to the expected target type '{1}'."
_UNKNOWN_TYPE = (
    "A type named '{0}' could not be resolved by the model. "
    "When a model is available, each type name must resolve to a valid type."
)
_NOT_DERIVED = (
    "A resource with type '{0}' was found, but it is not assignable to the expected type '{1}'. "
    "The type specified in the resource must be equal to either the expected type or a derived type."
)
_BAD_TYPE_NAME = (
    "The 'odata.type' instance annotation value '{0}' is not a valid type name. "
    "The value of the 'odata.type' instance annotation must be a non-empty string."
)
_NULL_NOT_ALLOWED = (
    "A null value was found for the property named '{0}', which has the expected type '{1}[Nullable=False]'. "
    "The expected type '{1}[Nullable=False]' does not allow null values."
)
_NULL_COLLECTION = (
    "A null value was found for the property named '{0}', which has the expected type '{1}[Nullable=True]'. "
    "The expected type '{1}[Nullable=True]' cannot be null but it can have null values."
)
_NULL_ITEM = (
    "A null value was found in a collection, but the expected collection item type '{0}' does not allow null values."
)
_RESOURCE_EXPECTED = (
    "The property with name '{0}' was found with a value node of type '{1}'; "
    "however, a resource value of type '{2}' was expected."
)
_ARRAY_EXPECTED = (
    "A node of type '{0}' was read from the JSON reader when trying to read the contents of the property '{1}'; "
    "however, a 'StartArray' node was expected."
)
_PRIMITIVE_EXPECTED = (
    "An unexpected '{0}' node was found when reading from the JSON reader. A 'PrimitiveValue' node was expected."
)
_ABSTRACT = "Cannot process input of abstract type '{0}'"

_INT_RANGES = {
    "Edm.Byte": (0, 2**8 - 1),
    "Edm.SByte": (-(2**7), 2**7 - 1),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_NUMBERS = {"Edm.Double", "Edm.Single", "Edm.Decimal"}
# xsd:dateTime, which .NET's XmlConvert reads, with the offset OData requires of a DateTimeOffset.
_DATE_TIME_OFFSET = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_WHITESPACE = str.maketrans("", "", " \t\n\r\x0b\x0c")


@dataclass(frozen=True)
class SchemaError:
    """One reason Graph would refuse a body: the HTTP status, `error.code` and `error.message` it answers.

    `path` says where in the body (e.g. `toRecipients[0].emailAddress.adress`); Graph does not send it.
    """

    status: int
    code: str
    message: str
    path: str = ""


# What Outlook answers a POST or PATCH to .../messages whose body it cannot bind: sent or received dates
# in a JSON create (microsoftgraph/microsoft-graph-docs#21523), undeclared properties (Softeria/ms-365-mcp-
# server#569, mguessan/davmail#506). Note the trailing space, seen in every report. Action bodies such
# as sendMail get the detailed RequestBodyRead errors that `check` returns instead.
UNABLE_TO_DESERIALIZE_POST_BODY = SchemaError(400, "UnableToDeserializePostBody", "were unable to deserialize ")


@dataclass(frozen=True)
class _Property:
    name: str
    type: str  # qualified name of the type, or of the item type for a collection
    collection: bool
    nullable: bool


@dataclass
class _StructuredType:
    name: str
    base: str | None
    abstract: bool
    declared: dict[str, _Property] = field(default_factory=dict)


class GraphSchema:
    """The entity, complex and enum types of Graph's CSDL, and a checker for request bodies."""

    def __init__(self, types: dict[str, _StructuredType], enums: dict[str, tuple[frozenset[str], bool]]):
        self._types = types
        self._enums = enums  # qualified name -> (lower-case member names, IsFlags)
        self._properties: dict[str, dict[str, _Property]] = {}

    @classmethod
    def load(cls, path: Path = CSDL_PATH) -> GraphSchema:
        """Parse the CSDL once per file: every emulator instance and test shares the result."""
        return _load(Path(path).resolve())

    def check(self, type_name: str, body: Any) -> list[SchemaError]:
        """What Graph would object to in `body` sent as a `type_name`, in the order it reads them.

        Reading errors (400) come first, in document order; a resource of an abstract type without an
        `@odata.type` is refused only after the body was read (422), so it comes last.
        """
        reader = _Reader(self)
        reader.structured(self._type(type_name), body, "")
        return reader.errors + reader.late_errors

    def _type(self, type_name: str) -> _StructuredType:
        found = self._types.get(type_name.removeprefix("#"))
        if found is None:
            raise ValueError(f"{type_name!r} is not an entity or complex type of the Graph CSDL")
        return found

    def _all_properties(self, type_name: str) -> dict[str, _Property]:
        if type_name not in self._properties:
            declared = self._types[type_name]
            inherited = self._all_properties(declared.base) if declared.base else {}
            self._properties[type_name] = {**inherited, **declared.declared}
        return self._properties[type_name]

    def _derives_from(self, candidate: str, base: str) -> bool:
        name: str | None = candidate
        while name is not None:
            if name == base:
                return True
            name = self._types[name].base
        return False


class _Reader:
    """One pass over one body, collecting errors the way Graph's OData reader meets them."""

    def __init__(self, schema: GraphSchema):
        self.schema = schema
        self.errors: list[SchemaError] = []
        self.late_errors: list[SchemaError] = []

    def fail(self, path: str, template: str, *args: object) -> None:
        self.errors.append(SchemaError(400, BODY_READ, template.format(*args), path))

    def structured(self, declared: _StructuredType, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, _RESOURCE_EXPECTED, _leaf(path), _node(value), declared.name)
            return
        actual = self.cast(declared, value.get("@odata.type"), path) if "@odata.type" in value else declared
        if actual is None:
            return
        if actual.abstract:
            self.late_errors.append(SchemaError(422, "UnprocessableType", _ABSTRACT.format(actual.name), path))
        properties = self.schema._all_properties(actual.name)
        for key, item in value.items():
            if "@" in key:  # instance or property annotation (@odata.type, @odata.context, x@odata.type)
                continue
            where = f"{path}.{key}" if path else key
            prop = properties.get(key)
            if prop is None:
                self.fail(where, _NO_SUCH_PROPERTY, key, actual.name)
            else:
                self.property(prop, item, where)

    def cast(self, declared: _StructuredType, odata_type: Any, path: str) -> _StructuredType | None:
        """The type an `@odata.type` selects; it must be the declared type or derive from it."""
        if not isinstance(odata_type, str) or not odata_type.strip("#"):
            self.fail(path, _BAD_TYPE_NAME, odata_type)
            return None
        name = odata_type.removeprefix("#")
        actual = self.schema._types.get(name)
        if actual is None:
            self.fail(path, _UNKNOWN_TYPE, name)
            return None
        if not self.schema._derives_from(name, declared.name):
            self.fail(path, _NOT_DERIVED, name, declared.name)
            return None
        return actual

    def property(self, prop: _Property, value: Any, path: str) -> None:
        type_text = f"Collection({prop.type})" if prop.collection else prop.type
        if value is None:
            if prop.collection:
                self.fail(path, _NULL_COLLECTION, prop.name, type_text)
            elif not prop.nullable:
                self.fail(path, _NULL_NOT_ALLOWED, prop.name, type_text)
            return
        if not prop.collection:
            self.single(prop.type, value, path)
            return
        if not isinstance(value, list):
            self.fail(path, _ARRAY_EXPECTED, _node(value), prop.name)
            return
        for index, item in enumerate(value):
            if item is None:
                if not prop.nullable:
                    self.fail(f"{path}[{index}]", _NULL_ITEM, prop.type)
            else:
                self.single(prop.type, item, f"{path}[{index}]")

    def single(self, type_name: str, value: Any, path: str) -> None:
        structured = self.schema._types.get(type_name)
        if structured is not None:
            self.structured(structured, value, path)
        elif isinstance(value, dict | list):
            self.fail(path, _PRIMITIVE_EXPECTED, _node(value))
        elif type_name in self.schema._enums:
            self.enum(type_name, value, path)
        else:
            self.primitive(type_name, value, path)

    def enum(self, type_name: str, value: Any, path: str) -> None:
        # Graph matches members without regard to case: its own samples send "HTML" and "Low".
        # The wording for a non-member is ODL's conversion error; no real Graph answer was found for it.
        members, is_flags = self.schema._enums[type_name]
        if not isinstance(value, str):
            self.fail(path, _JSON_VALUE, _json_edm_type(value), type_name)
            return
        names = [part.strip().lower() for part in value.split(",")] if is_flags else [value.lower()]
        if not all(name in members for name in names):
            self.fail(path, _LITERAL, value, type_name)

    def primitive(self, type_name: str, value: Any, path: str) -> None:
        # Stricter than ODL in one way: ODL converts a string such as "true" or "5" to a boolean or a number;
        # here only the JSON type that matches the declared type passes, so our requests never rely on it.
        if isinstance(value, str):
            if not _parses_as(type_name, value):
                self.fail(path, _LITERAL, value, type_name)
            return
        if isinstance(value, bool):
            accepted = type_name == "Edm.Boolean"
        elif isinstance(value, int):
            low, high = _INT_RANGES.get(type_name, (0, -1))
            accepted = low <= value <= high or type_name in _NUMBERS
        else:
            accepted = type_name in _NUMBERS
        if not accepted:
            self.fail(path, _JSON_VALUE, _json_edm_type(value), type_name)


def _parses_as(type_name: str, text: str) -> bool:
    """Whether a JSON string is a literal of a primitive type that OData JSON writes as a string."""
    if type_name in ("Edm.String", "Edm.Duration", "Edm.TimeOfDay"):  # durations and times are not checked
        return True
    parse = _STRING_LITERALS.get(type_name)
    if parse is None:  # Edm.Boolean, the numbers, Edm.Stream: a JSON string is not one
        return False
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _date_time_offset(text: str) -> None:
    if not _DATE_TIME_OFFSET.fullmatch(text):
        raise ValueError(text)
    datetime.fromisoformat(text)  # rejects what the pattern lets through, such as month 13


def _date(text: str) -> None:
    if not _DATE.fullmatch(text):
        raise ValueError(text)
    date.fromisoformat(text)


def _binary(text: str) -> None:
    # .NET's Convert.FromBase64String, which ODL uses, skips whitespace but requires exact padding. Checked by
    # decoding (strictly), not with a regular expression: attachments carry megabytes of it.
    compact = text.translate(_WHITESPACE)
    if len(compact) % 4:
        raise ValueError(text)
    try:
        binascii.a2b_base64(compact.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ValueError(text) from error


_STRING_LITERALS = {
    "Edm.DateTimeOffset": _date_time_offset,
    "Edm.Date": _date,
    "Edm.Binary": _binary,
    "Edm.Guid": uuid.UUID,
}


def _json_edm_type(value: Any) -> str:
    """The Edm type ODL's JSON reader gives a JSON value before converting it."""
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, int):
        return "Edm.Int32" if -(2**31) <= value < 2**31 else "Edm.Decimal"
    return "Edm.Double"


def _node(value: Any) -> str:
    """The JSON reader's name for the node a value starts with."""
    return "StartObject" if isinstance(value, dict) else "StartArray" if isinstance(value, list) else "PrimitiveValue"


def _leaf(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path).rpartition(".")[2]


@cache
def _load(path: Path) -> GraphSchema:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the Graph schema oracle reads Graph's published CSDL from there")
    # Graph's own published schema from ../shared, not input from a client.
    schemas = list(ET.parse(path).getroot().iter(f"{_EDM}Schema"))  # noqa: S314
    aliases = {s.get("Alias"): s.get("Namespace") for s in schemas if s.get("Alias")}

    def qualified(reference: str) -> tuple[str, bool]:
        collection = reference.startswith("Collection(")
        inner = reference[len("Collection(") : -1] if collection else reference
        namespace, _, name = inner.rpartition(".")
        return f"{aliases.get(namespace, namespace)}.{name}", collection

    types: dict[str, _StructuredType] = {}
    enums: dict[str, tuple[frozenset[str], bool]] = {}
    for schema in schemas:
        namespace = schema.get("Namespace")
        for element in schema:
            kind = element.tag.removeprefix(_EDM)
            name = f"{namespace}.{element.get('Name')}"
            if kind == "EnumType":
                members = frozenset(m.get("Name", "").lower() for m in element.iter(f"{_EDM}Member"))
                enums[name] = (members, element.get("IsFlags") == "true")
            elif kind in ("EntityType", "ComplexType"):
                base = element.get("BaseType")
                declared = _StructuredType(
                    name, qualified(base)[0] if base else None, element.get("Abstract") == "true"
                )
                for prop in element:
                    if prop.tag in (f"{_EDM}Property", f"{_EDM}NavigationProperty"):
                        prop_type, collection = qualified(prop.get("Type", ""))
                        prop_name = prop.get("Name", "")
                        nullable = prop.get("Nullable") != "false"
                        declared.declared[prop_name] = _Property(prop_name, prop_type, collection, nullable)
                types[name] = declared
    return GraphSchema(types, enums)
