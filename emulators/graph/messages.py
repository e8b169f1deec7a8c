"""Messages: JSON and MIME creates, reads with OData options, updates and deletes."""

from __future__ import annotations

import base64
import binascii
import copy
import re
import secrets
from datetime import UTC
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import urlencode

from emulators.base import Request, Response, route
from emulators.graph.attachments import attachment_view, file_attachment, new_attachment
from emulators.graph.errors import graph_error, item_not_found
from emulators.graph.model import ITEM, USER, message_size, new_id, now
from emulators.graph.odata import expansions, quoted_values, select
from emulators.graph.schema import UNABLE_TO_DESERIALIZE_POST_BODY

MESSAGE_FLAGS = "integer 0x0e07"
SENT_TIME = "systemtime 0x0039"
RECEIVED_TIME = "systemtime 0x0e06"
UNSENT = 0x8
PAGE_SIZE = 10  # Graph's default page size for messages


class Messages:
    """`messages` of a mailbox or of one folder; a non-draft only from a JSON create that clears the unsent flag."""

    @route("GET", USER + r"/mailFolders/([^/]+)/messages")
    @route("GET", USER + r"/messages")
    def list_messages(self, request: Request, user_ref: str, folder_ref: str | None = None) -> Response:
        _, mailbox = self._mailbox(user_ref)
        items = list(mailbox.messages.values())
        if folder_ref is not None:
            folder_id = self._folder_id(mailbox, folder_ref)
            if folder_id is None:
                return item_not_found()
            items = [m for m in items if m["parentFolderId"] == folder_id]
        if expression := request.arg("$filter"):
            try:
                items = [m for m in items if message_matches(m, expression)]
            except ValueError:
                return graph_error(
                    400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
                )
        items.sort(key=lambda m: m["receivedDateTime"], reverse=True)
        top = int(request.arg("$top", str(PAGE_SIZE)) or PAGE_SIZE)
        skip = int(request.arg("$skip", "0") or 0)
        page = items[skip : skip + top]
        body: dict[str, Any] = {"value": [self._message_view(m, request) for m in page]}
        if skip + top < len(items):
            query = urlencode({**{k: v[0] for k, v in request.query.items()}, "$skip": skip + top}, safe="$")
            body["@odata.nextLink"] = f"{request.base_url}{request.raw_path.split('?')[0]}?{query}"
        return Response.json(200, body)

    @route("GET", ITEM)
    def get_message(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return item_not_found()
        return Response.json(200, self._message_view(item, request))

    @route("POST", USER + r"/mailFolders/([^/]+)/messages")
    @route("POST", USER + r"/messages")
    def create_message(self, request: Request, user_ref: str, folder_ref: str = "drafts") -> Response:
        _, mailbox = self._mailbox(user_ref)
        folder_id = self._folder_id(mailbox, folder_ref)
        if folder_id is None:
            return item_not_found()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/plain":
            try:
                mime = base64.b64decode(request.body, validate=True)
            except (binascii.Error, ValueError):
                return graph_error(
                    400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
                )
            item = item_from_mime(mime)
        else:
            body = request.json()
            if not isinstance(body, dict):
                return graph_error(400, "RequestBodyRead", "Cannot read the request body as a JSON object.")
            if self.schema and self.schema.check("microsoft.graph.message", body):
                error = UNABLE_TO_DESERIALIZE_POST_BODY  # what Outlook answers on this route, whatever the fault
                return graph_error(error.status, error.code, error.message)
            if problem := check_create(body):
                return problem
            try:
                item = item_from_json(body)  # decodes each attachment once, refusing one that is not valid
            except ValueError as error:
                return graph_error(400, "ErrorInvalidRequest", str(error))
        size = message_size(item)
        if size > mailbox.max_message_size:
            return graph_error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        item["parentFolderId"] = folder_id
        mailbox.messages[item["id"]] = item
        return Response.json(201, self._message_view(item, None))

    @route("PATCH", ITEM)
    def update_message(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return item_not_found()
        body = request.json()
        if problem := self._object_error(body, "microsoft.graph.message"):
            return problem
        draft_only = {
            "subject",
            "body",
            "internetMessageId",
            "replyTo",
            "toRecipients",
            "ccRecipients",
            "bccRecipients",
        }
        if not item["isDraft"] and draft_only & set(body):
            return graph_error(
                400,
                "ErrorInvalidPropertyUpdateSentMessage",
                "Update operation is invalid for property of a sent message.",
            )
        for prop in body.get("singleValueExtendedProperties", []):
            set_property(item, prop["id"], prop["value"])
        for key, value in body.items():
            if key not in ("singleValueExtendedProperties", "multiValueExtendedProperties"):
                item[key] = value
        item["lastModifiedDateTime"] = now()
        return Response.json(200, self._message_view(item, None))

    @route("DELETE", ITEM)
    def delete_message(self, request: Request, user_ref: str, message_id: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        if mailbox.messages.pop(message_id, None) is None:
            return item_not_found()
        return Response(204)

    @route("POST", ITEM + r"/permanentDelete")
    def permanent_delete(self, request: Request, user_ref: str, message_id: str) -> Response:
        """Gone for good from the user's view (Exchange keeps it in Recoverable Items under a hold)."""
        return self.delete_message(request, user_ref, message_id)

    def _message_view(self, item: dict[str, Any], request: Request | None) -> dict[str, Any]:
        view = {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}
        view["hasAttachments"] = bool(item["_attachments"])
        view["@odata.etag"] = f'W/"{item["changeKey"]}"'
        if request is None:
            return view
        view = select(view, request.arg("$select"))
        for expansion in expansions(request.arg("$expand")):
            name, options = expansion
            if name == "attachments":
                view["attachments"] = [
                    select(attachment_view(a), options.get("$select", "")) for a in item["_attachments"]
                ]
            elif name == "singleValueExtendedProperties":
                wanted = options.get("$filter", "")
                match = re.fullmatch(r"\s*id eq '((?:[^']|'')*)'\s*", wanted) if wanted else None
                view["singleValueExtendedProperties"] = [
                    dict(p)
                    for p in item["_properties"]
                    if not match or property_id(p["id"]) == property_id(quoted_values(match.group(1)))
                ]
        return view

    def _item(self, user_ref: str, message_id: str) -> dict[str, Any] | None:
        return self._mailbox(user_ref)[1].messages.get(message_id)


def property_id(value: str) -> str:
    """Extended property ids compare with the type and GUID case-insensitively, the name exactly."""
    match = re.fullmatch(r"(\w+)\s+(\{[0-9a-fA-F-]+\})\s+Name\s+(.+)", value.strip())
    if match:
        return f"{match.group(1).lower()} {match.group(2).lower()} name {match.group(3)}"
    return value.strip().lower()


def message_matches(item: dict[str, Any], expression: str) -> bool:
    expression = expression.strip()
    svep = re.fullmatch(
        r"singleValueExtendedProperties/any\((\w+):\s*\1/id eq '((?:[^']|'')*)' and \1/value eq '((?:[^']|'')*)'\)",
        expression,
        re.IGNORECASE,
    )
    if svep:
        wanted_id, wanted_value = property_id(quoted_values(svep.group(2))), quoted_values(svep.group(3)).lower()
        return any(
            property_id(p["id"]) == wanted_id and str(p["value"]).lower() == wanted_value for p in item["_properties"]
        )
    if match := re.fullmatch(r"internetMessageId eq '((?:[^']|'')*)'", expression):
        return item.get("internetMessageId") == quoted_values(match.group(1))
    raise ValueError(expression)


def set_property(item: dict[str, Any], prop_id: str, value: Any) -> None:
    item["_properties"] = [p for p in item["_properties"] if property_id(p["id"]) != property_id(prop_id)]
    item["_properties"].append({"id": prop_id, "value": str(value)})
    key = property_id(prop_id)
    if key == MESSAGE_FLAGS:
        item["isDraft"] = bool(int(value) & UNSENT)
    elif key == SENT_TIME:
        item["sentDateTime"] = str(value)
    elif key == RECEIVED_TIME:
        item["receivedDateTime"] = str(value)


def check_create(body: dict[str, Any]) -> Response | None:
    """Rules of a JSON create that Graph enforces beyond the schema."""
    if {"receivedDateTime", "sentDateTime"} & set(body):  # writable in the schema, refused by Outlook
        error = UNABLE_TO_DESERIALIZE_POST_BODY
        return graph_error(error.status, error.code, error.message)
    for prop in body.get("singleValueExtendedProperties", []) or []:
        if not isinstance(prop, dict) or "id" not in prop or "value" not in prop:
            return graph_error(400, "ErrorInvalidExtendedProperty", "An extended property needs an id and a value.")
        if property_id(str(prop["id"])) == MESSAGE_FLAGS and not str(prop["value"]).isdigit():
            return graph_error(400, "ErrorInvalidExtendedPropertyValue", "The extended property value is invalid.")
    return None


def new_item() -> dict[str, Any]:
    created = now()
    return {
        "id": new_id(),
        "createdDateTime": created,
        "lastModifiedDateTime": created,
        "changeKey": secrets.token_urlsafe(12),
        "categories": [],
        "receivedDateTime": created,
        "sentDateTime": created,
        "internetMessageId": f"<{secrets.token_hex(12)}@emulator.graph>",
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "conversationId": new_id(),
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": False,
        "isDraft": True,
        "inferenceClassification": "focused",
        "body": {"contentType": "text", "content": ""},
        "sender": None,
        "from": None,
        "toRecipients": [],
        "ccRecipients": [],
        "bccRecipients": [],
        "replyTo": [],
        "flag": {"flagStatus": "notFlagged"},
        "_properties": [],
        "_attachments": [],
    }


def item_from_json(body: dict[str, Any]) -> dict[str, Any]:
    item = new_item()
    for key, value in body.items():
        if key == "singleValueExtendedProperties":
            for prop in value:
                set_property(item, prop["id"], prop["value"])
        elif key == "attachments":
            item["_attachments"] = [file_attachment(a) for a in value]
        elif key == "body":
            item["body"] = dict(value)
            item["bodyPreview"] = re.sub(r"<[^>]+>|\s+", " ", str(value.get("content", ""))).strip()[:255]
        else:
            item[key] = value
    return item


def item_from_mime(data: bytes) -> dict[str, Any]:
    """A MIME create: Graph keeps the Date as sentDateTime, receives it now, and always makes a draft."""
    msg = message_from_bytes(data, policy=policy.default)
    item = new_item()
    item["subject"] = str(msg.get("Subject", ""))
    if msg["Date"] is not None:
        item["sentDateTime"] = msg["Date"].datetime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if msg["Message-ID"]:
        item["internetMessageId"] = str(msg["Message-ID"]).strip()
    sender = msg["From"].addresses[0] if msg["From"] and msg["From"].addresses else None
    if sender:
        item["from"] = item["sender"] = {"emailAddress": {"name": sender.display_name, "address": sender.addr_spec}}
    if msg["To"]:
        item["toRecipients"] = [
            {"emailAddress": {"name": a.display_name, "address": a.addr_spec}} for a in msg["To"].addresses
        ]
    body = msg.get_body(preferencelist=("html", "plain"))
    if body is not None:
        item["body"] = {
            "contentType": "html" if body.get_content_subtype() == "html" else "text",
            "content": body.get_content(),
        }
    for part in msg.iter_attachments():
        item["_attachments"].append(
            new_attachment(
                part.get_filename() or "attachment", part.get_content_type(), part.get_payload(decode=True) or b""
            )
        )
    return item
