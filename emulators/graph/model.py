"""What the emulated tenant holds: mailboxes with their folders and items, and upload sessions."""

from __future__ import annotations

import base64
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MB = 1024 * 1024
WRITES = ("POST", "PUT", "PATCH")
USER = r"/v1\.0/users/([^/]+)"  # where a user's resources are; its group is the user's id or name
ITEM = USER + r"(?:/mailFolders/[^/]+)?/messages/([^/]+)"
WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "archive": "Archive",
}


@dataclass
class Mailbox:
    max_message_size: int
    quota_exceeded: bool = False
    access_denied: bool = False
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    inflight: int = 0
    requests: deque[float] = field(default_factory=deque)  # when each admitted request arrived
    uploads: deque[tuple[float, int]] = field(default_factory=deque)  # (when, bytes) of each admitted write


@dataclass
class UploadSession:
    user_id: str
    message_id: str
    name: str
    content_type: str
    size: int
    token: str
    received: bytearray = field(default_factory=bytearray)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "AAMk" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def folder_record(folder_id: str, name: str, parent: str, well_known: str, hidden: bool = False) -> dict[str, Any]:
    return {
        "id": folder_id,
        "displayName": name,
        "parentFolderId": parent,
        "isHidden": hidden,
        "_wellKnownName": well_known,
    }


def message_size(item: dict[str, Any]) -> int:
    return len(str(item.get("body", {}).get("content", "")).encode()) + sum(a["size"] for a in item["_attachments"])
