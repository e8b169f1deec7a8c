"""File attachments: inline ones under 3 MB, and upload sessions of ordered ranges for larger ones."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from emulators.base import Request, Response, route
from emulators.graph.errors import graph_error, item_not_found
from emulators.graph.model import ITEM, UploadSession, message_size, new_id, now
from emulators.graph.odata import select

UPLOAD_CHUNK_LIMIT = 4 * 1024 * 1024
ATTACHMENT_LIMIT = 150 * 1024 * 1024
INLINE_ATTACHMENT_LIMIT = 3 * 1024 * 1024
ATTACHMENTS = ITEM + r"/attachments"


class Attachments:
    """`attachments` of an item, `createUploadSession`, and the pre-authenticated upload URL."""

    @route("GET", ATTACHMENTS)
    def list_attachments(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return item_not_found()
        views = [select(attachment_view(a), request.arg("$select")) for a in item["_attachments"]]
        return Response.json(200, {"value": views})

    @route("GET", ATTACHMENTS + r"/([^/]+?)(/\$value)?")
    def get_attachment(
        self, request: Request, user_ref: str, message_id: str, attachment_id: str, raw: str
    ) -> Response:
        item = self._item(user_ref, message_id)
        found = [a for a in (item or {}).get("_attachments", []) if a["id"] == attachment_id]
        if not found:
            return item_not_found()
        if raw:
            return Response(200, bytes(found[0]["_data"]), {"Content-Type": found[0]["contentType"]})
        return Response.json(200, select(attachment_view(found[0]), request.arg("$select")))

    @route("POST", ATTACHMENTS)
    def add_attachment(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return item_not_found()
        body = request.json()
        if problem := self._object_error(body, "microsoft.graph.attachment"):
            return problem
        try:
            attachment = file_attachment(body)
        except ValueError as error:
            return graph_error(400, "ErrorInvalidRequest", str(error))
        if attachment["size"] >= INLINE_ATTACHMENT_LIMIT:
            return graph_error(
                413,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                "Attachments of 3 MB or more must be uploaded with an upload session.",
            )
        if message_size(item) + attachment["size"] > self._mailbox(user_ref)[1].max_message_size:
            return graph_error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        item["_attachments"].append(attachment)
        return Response.json(201, attachment_view(attachment))

    @route("POST", ATTACHMENTS + r"/createUploadSession")
    def create_upload_session(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return item_not_found()
        body = request.json()
        spec = body.get("AttachmentItem") if isinstance(body, dict) else None
        if problem := self._schema_error("microsoft.graph.attachmentItem", spec):
            return problem
        if not isinstance(spec, dict) or spec.get("attachmentType") != "file" or not spec.get("name"):
            return graph_error(
                400, "ErrorInvalidRequest", "AttachmentItem with attachmentType 'file' and a name is required."
            )
        size = spec.get("size")
        if not isinstance(size, int) or size <= 0 or size > ATTACHMENT_LIMIT:
            return graph_error(
                400,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize"
                if isinstance(size, int) and size > 0
                else "ErrorInvalidRequest",
                "The attachment size must be between 1 byte and 150 MB.",
            )
        session_id = secrets.token_hex(16)
        upload = UploadSession(
            self._mailbox(user_ref)[0]["id"],
            message_id,
            str(spec["name"]),
            str(spec.get("contentType") or "application/octet-stream"),
            size,
            secrets.token_urlsafe(24),
        )
        with self.lock:
            self.sessions[session_id] = upload
        expires = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        return Response.json(
            201,
            {
                "@odata.context": f"{request.base_url}/v1.0/$metadata#microsoft.graph.uploadSession",
                "uploadUrl": f"{request.base_url}/upload/{session_id}?authtoken={upload.token}",
                "expirationDateTime": expires,
                "nextExpectedRanges": ["0-"],
            },
        )

    @route("PUT", r"/upload/([0-9a-f]+)")
    def upload_range(self, request: Request, session_id: str) -> Response:
        with self.lock:
            upload = self.sessions.get(session_id)
        if upload is None or request.arg("authtoken") != upload.token:
            return graph_error(
                401, "InvalidAuthenticationToken", "The upload session is unknown or its token is invalid."
            )
        if "authorization" in request.headers:
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "The upload URL is pre-authenticated: do not send an Authorization header.",
            )
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("content-range", ""))
        if not match:
            return graph_error(
                400, "InvalidContentRange", "A Content-Range header 'bytes start-end/total' is required."
            )
        start, end, total = (int(g) for g in match.groups())
        expected = len(upload.received)
        if total != upload.size or start != expected or end - start + 1 != len(request.body):
            return Response.json(
                416,
                {
                    "error": {"code": "InvalidRange", "message": "The range is not the next expected one."},
                    "nextExpectedRanges": [str(expected)],
                },
            )
        if len(request.body) > UPLOAD_CHUNK_LIMIT:
            return graph_error(413, "RequestEntityTooLarge", "Each range must be 4 MB or less.")
        _, mailbox = self._mailbox(upload.user_id)
        item = mailbox.messages.get(upload.message_id)
        if item is None:
            return item_not_found()
        if message_size(item) + end + 1 > mailbox.max_message_size:
            return graph_error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        upload.received.extend(request.body)
        if len(upload.received) < upload.size:
            return Response.json(
                200,
                {
                    "@odata.context": "upload",
                    "ExpirationDateTime": now(),
                    "nextExpectedRanges": [str(len(upload.received))],
                },
            )
        attachment = new_attachment(upload.name, upload.content_type, bytes(upload.received))
        item["_attachments"].append(attachment)
        with self.lock:
            self.sessions.pop(session_id, None)
        item_path = f"users('{upload.user_id}')/messages('{upload.message_id}')"
        location = f"{request.base_url}/v1.0/{item_path}/attachments('{attachment['id']}')"
        return Response(201, b"", {"Location": location})


def file_attachment(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("@odata.type") != "#microsoft.graph.fileAttachment":
        raise ValueError("only #microsoft.graph.fileAttachment attachments are supported here")
    if not body.get("name") or "contentBytes" not in body:
        raise ValueError("a file attachment needs a name and contentBytes")
    try:
        data = base64.b64decode(str(body["contentBytes"]), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("contentBytes is not valid base64") from error
    return new_attachment(str(body["name"]), str(body.get("contentType") or "application/octet-stream"), data)


def new_attachment(name: str, content_type: str, data: bytes) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "id": new_id(),
        "lastModifiedDateTime": now(),
        "name": name,
        "contentType": content_type,
        "size": len(data),
        "isInline": False,
        "contentId": None,
        "contentLocation": None,
        "_data": data,
    }


def attachment_view(attachment: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in attachment.items() if not k.startswith("_")}
    view["contentBytes"] = base64.b64encode(attachment["_data"]).decode()
    return view
