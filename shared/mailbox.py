"""Putting one archived message into one mailbox, exactly once, as a non-draft item.

A message created from MIME is always a draft, so the item is created with a JSON POST whose extended
properties set the message flags (not a draft), the sent and received times, and our archive key. The key
is looked up in the folder before creating, and again after any ambiguous failure: Graph has no
idempotency key and `internetMessageId` is not unique. An item found with missing attachments is
completed, not created twice. (Facts: ../shared/reference/microsoft-graph.md §1, §2, §5, §6.)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC

from shared.graph import AmbiguousResult, GraphClient, GraphError
from shared.mapping import Mailbox
from shared.message import ArchivedMessage, Attachment
from shared.state import DUPLICATE, IMPORTED, State

PROPERTY_SET = "{6f1d8a0e-5c1b-4d39-9c1e-2b7a4e6f3d10}"  # ours: the namespace of our named property
ARCHIVE_KEY_PROPERTY = f"String {PROPERTY_SET} Name ZoomArchiveKey"
MESSAGE_FLAGS = "Integer 0x0E07"  # PidTagMessageFlags: 1 = read, and not mfUnsent, so not a draft
SENT_TIME = "SystemTime 0x0039"  # PidTagClientSubmitTime
RECEIVED_TIME = "SystemTime 0x0E06"  # PidTagMessageDeliveryTime
UPLOAD_SESSION_MIN = 3 * 1024 * 1024  # Graph: attachments of 3 MB or more go through an upload session
REQUEST_BUDGET = 3 * 1024 * 1024  # JSON bytes in one request; Graph refuses requests near 4 MB
CHUNK = 4 * 1024 * 1024  # upload session ranges are at most 4 MB
NO_MAILBOX_CODES = {"MailboxNotEnabledForRESTAPI", "ResourceNotFound", "ErrorInvalidUser"}
MAX_CREATE_ATTEMPTS = 3


class NoMailbox(Exception):
    """The user exists but has no Exchange Online mailbox Graph can reach."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(f"no mailbox ({code})")


@dataclass(frozen=True)
class ImportOutcome:
    status: str  # IMPORTED or DUPLICATE
    item_id: str
    attachments_added: int


def _file_attachment(attachment: Attachment) -> dict[str, str]:
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": attachment.filename,
        "contentType": attachment.content_type,
        "contentBytes": base64.b64encode(attachment.data).decode(),
    }


def _encoded_size(attachment: Attachment) -> int:
    return 4 * ((len(attachment.data) + 2) // 3) + len(attachment.filename) + 200


class MailboxImporter:
    def __init__(self, graph: GraphClient, state: State, folder_name: str):
        self.graph = graph
        self.state = state
        self.folder_name = folder_name

    def import_message(self, mailbox: Mailbox, message: ArchivedMessage) -> ImportOutcome:
        folder_id = self.folder(mailbox)
        item = self.find_item(mailbox, folder_id, message.archive_key)
        status = DUPLICATE
        if item is None:
            item = self._create(mailbox, folder_id, message)
            status = IMPORTED
        present = {a["name"] for a in item.get("attachments", [])}
        missing = [a for a in message.attachments if a.filename not in present]
        for attachment in missing:
            self._add_attachment(mailbox, item["id"], attachment)
        if status == DUPLICATE and missing:
            status = IMPORTED  # an earlier attempt died half-way: this one completed the item
        return ImportOutcome(status=status, item_id=item["id"], attachments_added=len(missing))

    # --- folder ---------------------------------------------------------------------------------

    def folder(self, mailbox: Mailbox) -> str:
        """The id of Inbox/<folder name>, created if needed; cached in Table storage."""
        cached = self.state.folder(mailbox.user_id, self.folder_name)
        if cached:
            return cached
        folder_id = self._find_folder(mailbox) or self._create_folder(mailbox)
        self.state.save_folder(mailbox.user_id, self.folder_name, folder_id)
        return folder_id

    def _find_folder(self, mailbox: Mailbox) -> str | None:
        name = self.folder_name.replace("'", "''")
        params = {"$filter": f"displayName eq '{name}'", "includeHiddenFolders": "true", "$select": "id,displayName"}
        found = self._mailbox_call(
            "GET", f"/users/{mailbox.user_id}/mailFolders/inbox/childFolders", params=params
        ).get("value", [])
        return found[0]["id"] if found else None

    def _create_folder(self, mailbox: Mailbox) -> str:
        try:
            created = self._mailbox_call(
                "POST",
                f"/users/{mailbox.user_id}/mailFolders/inbox/childFolders",
                json={"displayName": self.folder_name, "isHidden": False},
            )
            return created["id"]
        except (GraphError, AmbiguousResult) as error:
            if isinstance(error, GraphError) and error.code != "ErrorFolderExists":
                raise
            found = self._find_folder(mailbox)  # created concurrently, or our own lost response
            if not found:
                raise
            return found

    # --- item -----------------------------------------------------------------------------------

    def find_item(self, mailbox: Mailbox, folder_id: str, key: str) -> dict | None:
        match = f"ep/id eq '{ARCHIVE_KEY_PROPERTY}' and ep/value eq '{key}'"
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: {match})",
            "$select": "id",
            "$expand": "attachments($select=name)",
        }
        found = self._mailbox_call("GET", f"/users/{mailbox.user_id}/mailFolders/{folder_id}/messages", params=params)
        items = found.get("value", [])
        return items[0] if items else None

    def _create(self, mailbox: Mailbox, folder_id: str, message: ArchivedMessage) -> dict:
        body = self._item_body(message)
        path = f"/users/{mailbox.user_id}/mailFolders/{folder_id}/messages"
        for attempt in range(MAX_CREATE_ATTEMPTS):
            try:
                created = self._mailbox_call("POST", path, json=body)
                return {"id": created["id"], "attachments": body.get("attachments", [])}
            except AmbiguousResult:
                item = self.find_item(mailbox, folder_id, message.archive_key)
                if item is not None:
                    return item
                if attempt == MAX_CREATE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _item_body(self, message: ArchivedMessage) -> dict:
        sent = message.date.astimezone(UTC).isoformat().replace("+00:00", "Z")
        inline = []
        budget = REQUEST_BUDGET - len(message.html.encode()) - 8192
        for attachment in message.attachments:
            size = _encoded_size(attachment)
            if len(attachment.data) < UPLOAD_SESSION_MIN and size <= budget:
                inline.append(_file_attachment(attachment))
                budget -= size
        return {
            "subject": message.subject,
            "body": {"contentType": "html", "content": message.html},
            "from": _recipient(message.sender.name, message.sender.email),
            "sender": _recipient(message.sender.name, message.sender.email),
            "toRecipients": [_recipient(p.name, p.email) for p in message.to],
            "internetMessageId": message.message_id,
            "isRead": True,
            "singleValueExtendedProperties": [
                {"id": MESSAGE_FLAGS, "value": "1"},
                {"id": SENT_TIME, "value": sent},
                {"id": RECEIVED_TIME, "value": sent},
                {"id": ARCHIVE_KEY_PROPERTY, "value": message.archive_key},
            ],
            "attachments": inline,
        }

    # --- attachments ----------------------------------------------------------------------------

    def _add_attachment(self, mailbox: Mailbox, item_id: str, attachment: Attachment) -> None:
        path = f"/users/{mailbox.user_id}/messages/{item_id}/attachments"
        if len(attachment.data) < UPLOAD_SESSION_MIN:
            try:
                self._mailbox_call("POST", path, json=_file_attachment(attachment))
            except AmbiguousResult:
                if not self._has_attachment(mailbox, item_id, attachment.filename):
                    raise
            return
        session = self._mailbox_call(
            "POST",
            f"{path}/createUploadSession",
            json={
                "AttachmentItem": {
                    "attachmentType": "file",
                    "name": attachment.filename,
                    "size": len(attachment.data),
                    "contentType": attachment.content_type,
                }
            },
        )
        total = len(attachment.data)
        for start in range(0, total, CHUNK):
            self.graph.upload(session["uploadUrl"], attachment.data[start : start + CHUNK], start, total)

    def _has_attachment(self, mailbox: Mailbox, item_id: str, filename: str) -> bool:
        listed = self._mailbox_call(
            "GET", f"/users/{mailbox.user_id}/messages/{item_id}/attachments", params={"$select": "name"}
        )
        return any(a.get("name") == filename for a in listed.get("value", []))

    def _mailbox_call(self, method: str, path: str, **kwargs: object) -> dict:
        try:
            return self.graph.request(method, path, **kwargs)  # type: ignore[arg-type]
        except GraphError as error:
            if error.code in NO_MAILBOX_CODES:
                raise NoMailbox(error.code) from error
            raise


def _recipient(name: str, email: str) -> dict:
    return {"emailAddress": {"name": name, "address": email}}
