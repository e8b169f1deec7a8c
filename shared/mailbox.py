"""Putting one archived message into one mailbox, exactly once, as a non-draft item.

A message created from MIME is always a draft, so the item is created with a JSON POST whose extended
properties set the message flags (not a draft), the sent and received times, and our archive key. The key
is looked up in the folder before creating, and again after any ambiguous failure: Graph has no
idempotency key and `internetMessageId` is not unique. An item found with missing attachments is
completed, not created twice. A mailbox that refuses the item's size (`ErrorMessageSizeExceeded`) gets it
with its large files stored in the `recordings` container and linked from the body instead; such an item
carries a second property counting those files, so a later attempt completes it as it is.
(Facts: ../shared/reference/microsoft-graph.md §1, §2, §5, §6, §12.)
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from azure.storage.blob import ContainerClient

from shared.graph import AmbiguousResult, GraphClient, GraphError
from shared.integrity import CHUNK, verified_chunks
from shared.mapping import NO_MAILBOX, Mailbox
from shared.message.bodies import StoredLine
from shared.message.reader import ArchivedMessage, Attachment
from shared.message.render import render_template
from shared.records import StoredIn, recording_blob_name, utc_text
from shared.state import DUPLICATE, IMPORTED, State
from shared.storage import store_once

log = logging.getLogger(__name__)

PROPERTY_SET = "{6f1d8a0e-5c1b-4d39-9c1e-2b7a4e6f3d10}"  # ours: the namespace of our named properties
ARCHIVE_KEY_PROPERTY = f"String {PROPERTY_SET} Name ZoomArchiveKey"
STORED_FILES_PROPERTY = f"Integer {PROPERTY_SET} Name ZoomArchiveStoredFiles"  # files linked, not attached
MESSAGE_FLAGS = "Integer 0x0E07"  # PidTagMessageFlags: 1 = read, and not mfUnsent, so not a draft
SENT_TIME = "SystemTime 0x0039"  # PidTagClientSubmitTime
RECEIVED_TIME = "SystemTime 0x0E06"  # PidTagMessageDeliveryTime
IN_REPLY_TO = "String 0x1042"  # PidTagInReplyToId
REFERENCES = "String 0x1039"  # PidTagInternetReferences
UPLOAD_SESSION_MIN = 3 * 1024 * 1024  # Graph: attachments of 3 MB or more go through an upload session
REQUEST_LIMIT = 4 * 1024 * 1024 - 64 * 1024  # Graph refuses requests near 4 MB; headroom for headers
ITEM_NOT_FOUND = "ErrorItemNotFound"
FOLDER_EXISTS = "ErrorFolderExists"
SIZE_EXCEEDED = "ErrorMessageSizeExceeded"
NO_MAILBOX_CODES = {"MailboxNotEnabledForRESTAPI", "ResourceNotFound", "ErrorInvalidUser"}
MAILBOX_FULL = "mailbox full"
ACCESS_DENIED = "access denied to this mailbox (an Exchange application RBAC scope or access policy excludes it)"
TOO_LARGE = "too large for this mailbox, even with its large files stored apart"
REFUSALS = {
    "ErrorQuotaExceeded": MAILBOX_FULL,
    "QuotaExceededException": MAILBOX_FULL,
    "ErrorAccessDenied": ACCESS_DENIED,
    "accessDenied": ACCESS_DENIED,
}


class MailboxRefused(Exception):
    """This mailbox cannot take the item, for a reason that retrying will not change: recorded, not retried."""

    def __init__(self, code: str, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(f"{reason} ({code})")


class NoMailbox(MailboxRefused):
    """The user exists but has no Exchange Online mailbox Graph can reach."""

    def __init__(self, code: str):
        super().__init__(code, NO_MAILBOX)


class _TooLarge(Exception):
    """The mailbox refused the item's size: it is made again with its large files stored and linked."""


@dataclass(frozen=True)
class ImportOutcome:
    status: str  # IMPORTED or DUPLICATE
    item_id: str
    stored_files: int = 0  # files kept in the recordings container and linked, because the mailbox refused them


@dataclass(frozen=True)
class _Found:
    id: str
    stored_files: int


def _file_attachment(attachment: Attachment) -> dict[str, str]:
    """A small file for a JSON request: its base64 taken from the message as it is, never decoded."""
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": attachment.filename,
        "contentType": attachment.content_type,
        "contentBytes": attachment.base64().decode(),
    }


def _refusal(error: GraphError) -> Exception | None:
    """What a Graph error means for this mailbox, when it means more than a failed request."""
    if error.code in NO_MAILBOX_CODES:
        return NoMailbox(error.code)
    if error.code in REFUSALS:
        return MailboxRefused(error.code, f"{REFUSALS[error.code]}: {error}")
    if error.code == SIZE_EXCEEDED:
        return _TooLarge(str(error))
    return None


class MailboxImporter:
    def __init__(self, graph: GraphClient, state: State, folder_name: str, recordings: ContainerClient):
        self.graph = graph
        self.state = state
        self.folder_name = folder_name
        self.recordings = recordings
        self._folders: dict[str, str] = {}  # user id -> folder id, in front of the Table storage cache

    def import_message(self, mailbox: Mailbox, message: ArchivedMessage) -> ImportOutcome:
        for attempt in (1, 2):
            folder_id = self.folder(mailbox)
            try:
                return self._import(mailbox, folder_id, message)
            except GraphError as error:
                if error.code != ITEM_NOT_FOUND or attempt == 2:
                    raise
                # The cached folder is gone (deleted by the user): find or create it again, then start over.
                self._folders.pop(mailbox.user_id, None)
                self.state.forget_folder(mailbox.user_id, self.folder_name)
        raise AssertionError("unreachable")

    def _import(self, mailbox: Mailbox, folder_id: str, message: ArchivedMessage) -> ImportOutcome:
        found = self.find_item(mailbox, folder_id, message.archive_key)
        if found is None or not found.stored_files:
            try:
                return self._put(mailbox, folder_id, message, found, linked=False)
            except _TooLarge:
                found = self.find_item(mailbox, folder_id, message.archive_key)
                if found is not None:  # incomplete: replaced by the linked item, never left half-done
                    self._delete(mailbox, found.id)
                    found = None
        try:
            return self._put(mailbox, folder_id, message, found, linked=True)
        except _TooLarge as error:
            raise MailboxRefused(SIZE_EXCEEDED, f"{TOO_LARGE}: {error}") from error

    def _put(
        self, mailbox: Mailbox, folder_id: str, message: ArchivedMessage, found: _Found | None, *, linked: bool
    ) -> ImportOutcome:
        """Create the item (unless found) and add whichever of its attachments it lacks. Large files are
        stored apart only when the linked item is created: a found one already links them."""
        attached, apart = self._split(message, linked)
        if found is None:
            stored = [self._store(a) for a in apart]
            item_id, present = self._create(mailbox, folder_id, message, attached, stored)
            status, stored_files = IMPORTED, len(stored)
        else:
            item_id, present, status = found.id, self._attachment_names(mailbox, found.id), DUPLICATE
            stored_files = found.stored_files
        missing = [a for a in attached if a.filename not in present]
        for attachment in missing:
            self._add_attachment(mailbox, item_id, attachment)
        if missing:
            status = IMPORTED  # new, or left incomplete by an earlier attempt and completed now
        return ImportOutcome(status=status, item_id=item_id, stored_files=stored_files)

    def _split(self, message: ArchivedMessage, linked: bool) -> tuple[list[Attachment], list[Attachment]]:
        """The attachments of the item, and those it links instead: for a linked item, the upload-session-sized."""
        if not linked:
            return list(message.attachments), []
        small = [a for a in message.attachments if a.size < UPLOAD_SESSION_MIN]
        return small, [a for a in message.attachments if a.size >= UPLOAD_SESSION_MIN]

    def _store(self, attachment: Attachment) -> StoredLine:
        """Store the file by its SHA-256 (our record's, else read once to hash it), checked as it is copied."""
        sha256 = attachment.sha256 or _sha256(attachment)
        name = recording_blob_name(sha256, attachment.filename)
        with attachment.open() as stream:
            chunks = verified_chunks(attachment.filename, stream, attachment.size, sha256)
            store_once(self.recordings, name, chunks, attachment.content_type)
        stored_in = StoredIn(self.recordings.account_name, self.recordings.container_name, self.recordings.url)
        return StoredLine.of(attachment.filename, attachment.size, sha256, name, stored_in)

    # --- folder ---------------------------------------------------------------------------------

    def folder(self, mailbox: Mailbox) -> str:
        """The id of Inbox/<folder name>, created if needed; cached in Table storage and in this process."""
        if mailbox.user_id in self._folders:
            return self._folders[mailbox.user_id]
        folder_id = self.state.folder(mailbox.user_id, self.folder_name)
        if not folder_id:
            found = self._find_folder(mailbox)
            folder_id = found["id"] if found else self._create_folder(mailbox)
            self.state.save_folder(mailbox.user_id, self.folder_name, folder_id)
        self._folders[mailbox.user_id] = folder_id
        return folder_id

    def _find_folder(self, mailbox: Mailbox) -> dict[str, Any] | None:
        name = self.folder_name.replace("'", "''")
        params = {"$filter": f"displayName eq '{name}'", "includeHiddenFolders": "true", "$select": "id,displayName"}
        path = f"/users/{mailbox.user_id}/mailFolders/inbox/childFolders"
        found = self._call("GET", path, mailbox, params=params).get("value", [])
        return found[0] if found else None

    def _create_folder(self, mailbox: Mailbox) -> str:
        path = f"/users/{mailbox.user_id}/mailFolders/inbox/childFolders"
        body = {"displayName": self.folder_name, "isHidden": False}
        try:
            return self._call("POST", path, mailbox, json=body, recover=lambda: self._find_folder(mailbox))["id"]
        except GraphError as error:
            if error.code != FOLDER_EXISTS:
                raise
            found = self._find_folder(mailbox)  # created at the same time by another invocation
            if found is None:
                raise
            return found["id"]

    # --- item -----------------------------------------------------------------------------------

    def find_item(self, mailbox: Mailbox, folder_id: str, key: str) -> _Found | None:
        """The item holding this archive key in the folder, and how many files it links instead of attaching."""
        match = f"ep/id eq '{ARCHIVE_KEY_PROPERTY}' and ep/value eq '{key}'"
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: {match})",
            "$select": "id",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{STORED_FILES_PROPERTY}')",
        }
        path = f"/users/{mailbox.user_id}/mailFolders/{folder_id}/messages"
        items = self._call("GET", path, mailbox, params=params).get("value", [])
        if not items:
            return None
        if len(items) > 1:
            log.warning("%d items in one mailbox hold archive key %s", len(items), key)
        properties = items[0].get("singleValueExtendedProperties") or []
        return _Found(items[0]["id"], int(properties[0]["value"]) if properties else 0)

    def _create(
        self,
        mailbox: Mailbox,
        folder_id: str,
        message: ArchivedMessage,
        attached: list[Attachment],
        stored: list[StoredLine],
    ) -> tuple[str, set[str]]:
        """Create the item with the attachments that fit in the request; returns its id and what it holds."""
        body = _item_body(message, attached, stored)
        path = f"/users/{mailbox.user_id}/mailFolders/{folder_id}/messages"

        def recover() -> dict[str, Any] | None:
            found = self.find_item(mailbox, folder_id, message.archive_key)
            return {"id": found.id} if found else None

        created = self._call("POST", path, mailbox, json=body, recover=recover)
        return created["id"], {a["name"] for a in body["attachments"]}  # an item is created whole, or not at all

    def _delete(self, mailbox: Mailbox, item_id: str) -> None:
        try:
            path = f"/users/{mailbox.user_id}/messages/{item_id}/permanentDelete"
            self._call("POST", path, mailbox, recover=_nothing)
        except GraphError as error:
            if error.code != ITEM_NOT_FOUND:  # already gone: an earlier answer was lost
                raise

    # --- attachments ----------------------------------------------------------------------------

    def _add_attachment(self, mailbox: Mailbox, item_id: str, attachment: Attachment) -> None:
        path = f"/users/{mailbox.user_id}/messages/{item_id}/attachments"

        def recover() -> dict[str, Any] | None:
            return {} if attachment.filename in self._attachment_names(mailbox, item_id) else None

        if attachment.size < UPLOAD_SESSION_MIN:
            self._call("POST", path, mailbox, json=_file_attachment(attachment), recover=recover)
            return
        spec = {
            "attachmentType": "file",
            "name": attachment.filename,
            "size": attachment.size,
            "contentType": attachment.content_type,
        }
        for attempt in (1, 2):
            # A lost answer leaves an unused session behind, which expires: simply ask again.
            body = {"AttachmentItem": spec}
            session = self._call("POST", f"{path}/createUploadSession", mailbox, json=body, recover=_nothing)
            ranges = attachment.ranges()
            try:
                self.graph.upload(session["uploadUrl"], attachment.size, ranges.read, mailbox.user_id)
                return
            except (GraphError, AmbiguousResult) as error:
                if isinstance(error, GraphError) and (refusal := _refusal(error)):
                    raise refusal from error
                if recover() is not None:
                    return  # the last range completed the attachment; only its answer was lost
                if attempt == 2:
                    raise
            finally:
                ranges.close()

    def _attachment_names(self, mailbox: Mailbox, item_id: str) -> set[str]:
        path = f"/users/{mailbox.user_id}/messages/{item_id}/attachments"
        listed = self._call("GET", path, mailbox, params={"$select": "name"})
        return {str(a.get("name")) for a in listed.get("value", [])}

    def _call(self, method: str, path: str, mailbox: Mailbox, **kwargs: Any) -> dict[str, Any]:
        """One request within the mailbox's slots; errors that concern the mailbox become its refusals."""
        try:
            return self.graph.request(method, path, mailbox=mailbox.user_id, **kwargs)
        except GraphError as error:
            refusal = _refusal(error)
            if refusal is None:
                raise
            raise refusal from error


def _sha256(attachment: Attachment) -> str:
    """The file's SHA-256, read once (a message whose record states none)."""
    digest = hashlib.sha256()
    with attachment.open() as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _nothing() -> None:
    """`recover` for a write that is safe to repeat: nothing to look for."""
    return None


def _item_body(message: ArchivedMessage, attached: list[Attachment], stored: list[StoredLine]) -> dict[str, Any]:
    """The JSON create: a non-draft with the meeting's times, our key, and the attachments that fit inline; an
    addition names its meeting's message as the one it replies to, as its MIME headers do, so that Outlook
    threads them (Graph takes neither header in a JSON create, only these properties)."""
    sent = utc_text(message.date)
    properties = [
        {"id": MESSAGE_FLAGS, "value": "1"},
        {"id": SENT_TIME, "value": sent},
        {"id": RECEIVED_TIME, "value": sent},
        {"id": ARCHIVE_KEY_PROPERTY, "value": message.archive_key},
    ]
    if stored:
        properties.append({"id": STORED_FILES_PROPERTY, "value": str(len(stored))})
    if message.in_reply_to:
        properties.append({"id": IN_REPLY_TO, "value": message.in_reply_to})
        properties.append({"id": REFERENCES, "value": message.in_reply_to})
    body: dict[str, Any] = {
        "subject": message.subject,
        "body": {"contentType": "html", "content": _with_links(message.html, stored) if stored else message.html},
        "from": _recipient(message.sender.name, message.sender.email),
        "sender": _recipient(message.sender.name, message.sender.email),
        "toRecipients": [_recipient(p.name, p.email) for p in message.to],
        "internetMessageId": message.message_id,
        "isRead": True,
        "singleValueExtendedProperties": properties,
        "attachments": [],
    }
    size = len(json.dumps(body))
    for attachment in attached:
        if attachment.size >= UPLOAD_SESSION_MIN:
            continue
        entry = _file_attachment(attachment)
        entry_size = len(json.dumps(entry)) + 2
        if size + entry_size <= REQUEST_LIMIT:
            body["attachments"].append(entry)
            size += entry_size
    return body


def _with_links(body: str, stored: list[StoredLine]) -> str:
    """The HTML body with a section naming each file kept in storage instead of attached."""
    section = render_template("stored_files.html", files=stored)
    at = body.rfind("</body>")
    return body[:at] + section + body[at:] if at >= 0 else body + section


def _recipient(name: str, email: str) -> dict:
    return {"emailAddress": {"name": name, "address": email}}
