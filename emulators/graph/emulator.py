"""Microsoft Graph + Entra token endpoint emulator, over TLS (MSAL requires an https authority).

It serves what the archiver writes and Graph's own reads, so anyone can inspect a mailbox with ordinary
Graph calls. Behaviour follows ../shared/reference/microsoft-graph.md §13: a message created from MIME is
always a draft; a JSON create is a draft unless `Integer 0x0E07` clears the unsent flag; sent and
received times come from `SystemTime 0x0039` / `0x0E06`; requests over 4 MB are refused; attachments of
3 MB+ go through upload sessions whose URL is pre-authenticated (an Authorization header is refused) and
takes ordered ranges of at most 4 MB, a range sent again answering 416 with `nextExpectedRanges`; users
without a mailbox answer `MailboxNotEnabledForRESTAPI`; a duplicate folder name answers `ErrorFolderExists`.
Outlook's throttling per app and mailbox (§8) answers 429 `ApplicationThrottled` with a fractional
`Retry-After`: a fifth concurrent request, more than 10,000 requests in 10 minutes, more than 150 MB
uploaded (POST, PUT, PATCH bodies) in 5 minutes; upload ranges count as requests of their mailbox.

Seed: `{"tenant_id", "users": [Graph user objects with id, userPrincipalName, mail, proxyAddresses, and
the emulator's own keys: "mailbox": true|false, "maxMessageSizeMb" (that mailbox's limit),
"quotaExceeded": true (writes answer 403 ErrorQuotaExceeded), "accessDenied": true (every mailbox request
answers 403 ErrorAccessDenied, as an Exchange RBAC scope that leaves the mailbox out does)], and optionally
"limits": {Limits fields} and "latency": seconds each mailbox request takes, overriding the command line}`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from emulators.base import Emulator, Request, Response
from emulators.graph.schema import UNABLE_TO_DESERIALIZE_POST_BODY, GraphSchema

DEFAULT_CLIENT_ID = "00000000-0000-4000-8000-000000000002"
DEFAULT_CLIENT_SECRET = "demo-graph-secret"
REQUEST_LIMIT = 4 * 1024 * 1024
UPLOAD_CHUNK_LIMIT = 4 * 1024 * 1024
ATTACHMENT_LIMIT = 150 * 1024 * 1024
INLINE_ATTACHMENT_LIMIT = 3 * 1024 * 1024
WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "archive": "Archive",
}
MESSAGE_FLAGS = "integer 0x0e07"
SENT_TIME = "systemtime 0x0039"
RECEIVED_TIME = "systemtime 0x0e06"
UNSENT = 0x8
PAGE_SIZE = 10  # Graph's default page size for messages
MB = 1024 * 1024
USER_KEYS = ("mailbox", "maxMessageSizeMb", "quotaExceeded", "accessDenied")  # the emulator's, not Graph's
WRITES = ("POST", "PUT", "PATCH")


def graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    inner = {"date": _now(), "request-id": secrets.token_hex(16), "client-request-id": secrets.token_hex(16)}
    return Response.json(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    return "AAMk" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def _quoted_values(text: str) -> str:
    return text.replace("''", "'")


@dataclass(frozen=True)
class Limits:
    """Outlook's throttling per app and mailbox (../shared/reference/microsoft-graph.md §8)."""

    concurrency: int = 4
    requests: int = 10_000
    requests_window: float = 600.0  # seconds
    upload_mb: float = 150.0
    upload_window: float = 300.0  # seconds
    concurrency_retry_after: float = 0.5  # seconds a client is told to wait when over the concurrency limit

    @classmethod
    def parse(cls, base: Limits, values: dict[str, Any]) -> Limits:
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        return replace(base, **{k: (int if known[k] == "int" else float)(v) for k, v in values.items()})


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


class GraphEmulator(Emulator):
    name = "graph"

    def __init__(
        self,
        seed: dict[str, Any],
        base_dir: Path,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        max_message_size_mb: int = 35,
        folder_exists_status: int = 400,
        limits: Limits = Limits(),
        latency: float = 0.0,
        schema: GraphSchema | None = None,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.max_message_size = max_message_size_mb * MB
        self.folder_exists_status = folder_exists_status
        self.default_limits = limits
        self.default_latency = latency
        self.schema = schema
        super().__init__(seed, base_dir)

    def load(self, seed: dict[str, Any], base_dir: Path) -> None:
        self.tenant_id = str(seed["tenant_id"])
        self.limits = Limits.parse(self.default_limits, seed.get("limits") or {})
        self.latency = float(seed.get("latency", self.default_latency))
        self.users: dict[str, dict[str, Any]] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        for user in seed.get("users", []):
            record = {k: v for k, v in user.items() if k not in USER_KEYS}
            self.users[record["id"]] = record
            if user.get("mailbox", True):
                mailbox = Mailbox(
                    max_message_size=int(user.get("maxMessageSizeMb") or 0) * MB or self.max_message_size,
                    quota_exceeded=bool(user.get("quotaExceeded")),
                    access_denied=bool(user.get("accessDenied")),
                )
                for well_known, display in WELL_KNOWN_FOLDERS.items():
                    folder_id = _new_id()
                    mailbox.folders[folder_id] = _folder(folder_id, display, "", well_known)
                self.mailboxes[record["id"]] = mailbox
        self.tokens: dict[str, float] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.mailbox_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    # --- Entra ID -------------------------------------------------------------------------------

    def openid_configuration(self, request: Request, tenant: str) -> Response:
        base = f"{request.base_url}/{tenant}"
        return Response.json(
            200,
            {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "issuer": f"{request.base_url}/{self.tenant_id}/v2.0",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
            },
        )

    def token(self, request: Request, tenant: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        if tenant != self.tenant_id:
            return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if form.get("client_id") != self.client_id:
            return _aad_error(400, "unauthorized_client", 700016, "Application not found in the directory.")
        if form.get("client_secret") != self.client_secret:
            return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        scopes = {f"{request.base_url}/.default", "https://graph.microsoft.com/.default"}
        if len(form.get("scope", "").split()) != 1 or form["scope"] not in scopes:
            return _aad_error(
                400, "invalid_scope", 70011, f"The provided value for scope is not valid: {form.get('scope')}"
            )
        token = self.issue_token(3599)
        return Response.json(
            200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )

    # --- request plumbing -----------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        path = request.raw_path.split("?")[0]
        if path.startswith("/v1.0/"):
            if not self.bearer_valid(request):
                return graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
            if len(request.body) > REQUEST_LIMIT:
                return graph_error(413, "RequestEntityTooLarge", "The request is larger than the 4 MB limit.")
            if match := re.match(r"/v1\.0/users/([^/]+)/(mailFolders|messages)", path):
                return self._in_mailbox(request, match.group(1))
        elif match := re.fullmatch(r"/upload/([0-9a-f]+)", path):
            with self.lock:
                upload = self.sessions.get(match.group(1))
            if upload is not None:
                return self._in_mailbox(request, upload.user_id)
        return super().dispatch(request)

    def _in_mailbox(self, request: Request, user_ref: str) -> Response:
        user = self._user(user_ref)
        if user is None:
            return graph_error(404, "ErrorInvalidUser", f"The requested user '{user_ref}' is invalid.")
        if user["id"] not in self.mailboxes:
            return graph_error(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        mailbox = self.mailboxes[user["id"]]
        if mailbox.access_denied:
            return graph_error(403, "ErrorAccessDenied", "Access to OData is disabled.")
        if mailbox.quota_exceeded and request.method in WRITES:
            return graph_error(403, "ErrorQuotaExceeded", "Mailbox has exceeded maximum mailbox size.")
        if refused := self._admit(mailbox, request):
            return refused
        try:
            if self.latency:
                time.sleep(self.latency)
            with self.mailbox_locks[user["id"]]:
                return super().dispatch(request)
        finally:
            with self.lock:
                mailbox.inflight -= 1

    def _admit(self, mailbox: Mailbox, request: Request) -> Response | None:
        """Outlook's throttling of one app on one mailbox: concurrency, requests and upload volume."""
        limits, now = self.limits, time.monotonic()
        size = len(request.body) if request.method in WRITES else 0
        with self.lock:
            while mailbox.requests and mailbox.requests[0] <= now - limits.requests_window:
                mailbox.requests.popleft()
            while mailbox.uploads and mailbox.uploads[0][0] <= now - limits.upload_window:
                mailbox.uploads.popleft()
            if mailbox.inflight >= limits.concurrency:
                return _throttled("MailboxConcurrency", limits.concurrency_retry_after)
            if len(mailbox.requests) >= limits.requests:
                return _throttled("MailboxRequests", mailbox.requests[0] + limits.requests_window - now)
            uploaded = sum(n for _, n in mailbox.uploads)
            if size and mailbox.uploads and uploaded + size > limits.upload_mb * MB:
                return _throttled("MailboxUpload", mailbox.uploads[0][0] + limits.upload_window - now)
            mailbox.requests.append(now)
            if size:
                mailbox.uploads.append((now, size))
            mailbox.inflight += 1
        return None

    def _user(self, ref: str) -> dict[str, Any] | None:
        key = unquote(ref).strip("'()").lower()
        for user in self.users.values():
            if key in (user["id"].lower(), str(user.get("userPrincipalName", "")).lower()):
                return user
        return None

    def _mailbox(self, user_ref: str) -> tuple[dict[str, Any], Mailbox]:
        user = self._user(user_ref)
        assert user is not None
        return user, self.mailboxes[user["id"]]

    def _folder_id(self, mailbox: Mailbox, ref: str) -> str | None:
        for folder_id, folder in mailbox.folders.items():
            if ref == folder_id or ref.lower() == folder.get("_wellKnownName"):
                return folder_id
        return None

    def _item(self, user_ref: str, message_id: str) -> dict[str, Any] | None:
        return self._mailbox(user_ref)[1].messages.get(message_id)

    def _object_error(self, body: Any, type_name: str) -> Response | None:
        """Graph's answer to a body that is not a JSON object, or that the schema rejects."""
        if not isinstance(body, dict):
            return graph_error(400, "RequestBodyRead", "Cannot read the request body as a JSON object.")
        return self._schema_error(type_name, body)

    def _schema_error(self, type_name: str, body: Any) -> Response | None:
        """Graph's answer to a body its schema rejects (the first problem), when the schema is loaded."""
        problems = self.schema.check(type_name, body) if self.schema else []
        if not problems:
            return None
        return graph_error(problems[0].status, problems[0].code, problems[0].message)

    # --- users ----------------------------------------------------------------------------------

    def get_user(self, request: Request, user_ref: str) -> Response:
        user = self._user(user_ref)
        if user is None:
            return graph_error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{unquote(user_ref)}' does not exist or one of its queried reference-property objects "
                "are not present.",
            )
        return Response.json(200, _select(_user_view(user), request.arg("$select")))

    def list_users(self, request: Request) -> Response:
        users = list(self.users.values())
        if expression := request.arg("$filter"):
            try:
                users = [u for u in users if _user_matches(u, expression)]
            except ValueError:
                return graph_error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        return Response.json(200, {"value": [_select(_user_view(u), request.arg("$select")) for u in users]})

    # --- folders --------------------------------------------------------------------------------

    def get_folder(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        folder_id = self._folder_id(mailbox, folder_ref)
        if folder_id is None:
            return _item_not_found()
        return Response.json(200, _select(self._folder_view(mailbox, folder_id), request.arg("$select")))

    def delete_folder(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        """A user deletes a folder: it goes, with what it holds (well-known folders cannot be deleted)."""
        _, mailbox = self._mailbox(user_ref)
        folder_id = self._folder_id(mailbox, folder_ref)
        if folder_id is None or mailbox.folders[folder_id]["_wellKnownName"]:
            return _item_not_found()
        gone = {folder_id}
        while children := {f for f, v in mailbox.folders.items() if v["parentFolderId"] in gone} - gone:
            gone |= children
        for fid in gone:
            del mailbox.folders[fid]
        for item_id in [i for i, m in mailbox.messages.items() if m["parentFolderId"] in gone]:
            del mailbox.messages[item_id]
        return Response(204)

    def child_folders(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        parent = self._folder_id(mailbox, folder_ref)
        if parent is None:
            return _item_not_found()
        hidden = request.arg("includeHiddenFolders").lower() == "true"
        children = [
            fid for fid, f in mailbox.folders.items() if f["parentFolderId"] == parent and (hidden or not f["isHidden"])
        ]
        if expression := request.arg("$filter"):
            match = re.fullmatch(r"\s*displayName eq '((?:[^']|'')*)'\s*", expression)
            if not match:
                return graph_error(
                    400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
                )
            name = _quoted_values(match.group(1)).lower()
            children = [fid for fid in children if mailbox.folders[fid]["displayName"].lower() == name]
        views = [_select(self._folder_view(mailbox, fid), request.arg("$select")) for fid in children]
        return Response.json(200, {"value": views})

    def create_child_folder(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        parent = self._folder_id(mailbox, folder_ref)
        body = request.json()
        if parent is None:
            return _item_not_found()
        if problem := self._schema_error("microsoft.graph.mailFolder", body):
            return problem
        if not isinstance(body, dict) or not isinstance(body.get("displayName"), str) or not body["displayName"]:
            return graph_error(400, "ErrorInvalidRequest", "The folder name is missing.")
        name = body["displayName"]
        for folder in mailbox.folders.values():
            if folder["parentFolderId"] == parent and folder["displayName"].lower() == name.lower():
                return graph_error(
                    self.folder_exists_status,
                    "ErrorFolderExists",
                    f"A folder with the specified name already exists., Could not create folder '{name}'.",
                )
        folder_id = _new_id()
        mailbox.folders[folder_id] = _folder(folder_id, name, parent, "", bool(body.get("isHidden", False)))
        return Response.json(201, self._folder_view(mailbox, folder_id))

    def _folder_view(self, mailbox: Mailbox, folder_id: str) -> dict[str, Any]:
        folder = {k: v for k, v in mailbox.folders[folder_id].items() if not k.startswith("_")}
        items = [m for m in mailbox.messages.values() if m["parentFolderId"] == folder_id]
        folder["childFolderCount"] = sum(f["parentFolderId"] == folder_id for f in mailbox.folders.values())
        folder["totalItemCount"] = len(items)
        folder["unreadItemCount"] = sum(not m["isRead"] for m in items)
        return folder

    # --- messages -------------------------------------------------------------------------------

    def list_messages(self, request: Request, user_ref: str, folder_ref: str | None = None) -> Response:
        _, mailbox = self._mailbox(user_ref)
        items = list(mailbox.messages.values())
        if folder_ref is not None:
            folder_id = self._folder_id(mailbox, folder_ref)
            if folder_id is None:
                return _item_not_found()
            items = [m for m in items if m["parentFolderId"] == folder_id]
        if expression := request.arg("$filter"):
            try:
                items = [m for m in items if _message_matches(m, expression)]
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

    def get_message(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return _item_not_found()
        return Response.json(200, self._message_view(item, request))

    def create_message(self, request: Request, user_ref: str, folder_ref: str = "drafts") -> Response:
        _, mailbox = self._mailbox(user_ref)
        folder_id = self._folder_id(mailbox, folder_ref)
        if folder_id is None:
            return _item_not_found()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/plain":
            try:
                mime = base64.b64decode(request.body, validate=True)
            except (binascii.Error, ValueError):
                return graph_error(
                    400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
                )
            item = _from_mime(mime)
        else:
            body = request.json()
            if not isinstance(body, dict):
                return graph_error(400, "RequestBodyRead", "Cannot read the request body as a JSON object.")
            if self.schema and self.schema.check("microsoft.graph.message", body):
                error = UNABLE_TO_DESERIALIZE_POST_BODY  # what Outlook answers on this route, whatever the fault
                return graph_error(error.status, error.code, error.message)
            if problem := _check_create(body):
                return problem
            try:
                item = _from_json(body)  # decodes each attachment once, refusing one that is not valid
            except ValueError as error:
                return graph_error(400, "ErrorInvalidRequest", str(error))
        size = _message_size(item)
        if size > mailbox.max_message_size:
            return graph_error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        item["parentFolderId"] = folder_id
        mailbox.messages[item["id"]] = item
        return Response.json(201, self._message_view(item, None))

    def update_message(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return _item_not_found()
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
            _set_property(item, prop["id"], prop["value"])
        for key, value in body.items():
            if key not in ("singleValueExtendedProperties", "multiValueExtendedProperties"):
                item[key] = value
        item["lastModifiedDateTime"] = _now()
        return Response.json(200, self._message_view(item, None))

    def delete_message(self, request: Request, user_ref: str, message_id: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        if mailbox.messages.pop(message_id, None) is None:
            return _item_not_found()
        return Response(204)

    def permanent_delete(self, request: Request, user_ref: str, message_id: str) -> Response:
        """Gone for good from the user's view (Exchange keeps it in Recoverable Items under a hold)."""
        return self.delete_message(request, user_ref, message_id)

    def _message_view(self, item: dict[str, Any], request: Request | None) -> dict[str, Any]:
        view = {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}
        view["hasAttachments"] = bool(item["_attachments"])
        view["@odata.etag"] = f'W/"{item["changeKey"]}"'
        if request is None:
            return view
        view = _select(view, request.arg("$select"))
        for expansion in _expansions(request.arg("$expand")):
            name, options = expansion
            if name == "attachments":
                view["attachments"] = [
                    _select(_attachment_view(a), options.get("$select", "")) for a in item["_attachments"]
                ]
            elif name == "singleValueExtendedProperties":
                wanted = options.get("$filter", "")
                match = re.fullmatch(r"\s*id eq '((?:[^']|'')*)'\s*", wanted) if wanted else None
                view["singleValueExtendedProperties"] = [
                    dict(p)
                    for p in item["_properties"]
                    if not match or _property_id(p["id"]) == _property_id(_quoted_values(match.group(1)))
                ]
        return view

    # --- attachments ----------------------------------------------------------------------------

    def list_attachments(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return _item_not_found()
        views = [_select(_attachment_view(a), request.arg("$select")) for a in item["_attachments"]]
        return Response.json(200, {"value": views})

    def get_attachment(
        self, request: Request, user_ref: str, message_id: str, attachment_id: str, raw: str
    ) -> Response:
        item = self._item(user_ref, message_id)
        found = [a for a in (item or {}).get("_attachments", []) if a["id"] == attachment_id]
        if not found:
            return _item_not_found()
        if raw:
            return Response(200, bytes(found[0]["_data"]), {"Content-Type": found[0]["contentType"]})
        return Response.json(200, _select(_attachment_view(found[0]), request.arg("$select")))

    def add_attachment(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return _item_not_found()
        body = request.json()
        if problem := self._object_error(body, "microsoft.graph.attachment"):
            return problem
        try:
            attachment = _attachment(body)
        except ValueError as error:
            return graph_error(400, "ErrorInvalidRequest", str(error))
        if attachment["size"] >= INLINE_ATTACHMENT_LIMIT:
            return graph_error(
                413,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                "Attachments of 3 MB or more must be uploaded with an upload session.",
            )
        if _message_size(item) + attachment["size"] > self._mailbox(user_ref)[1].max_message_size:
            return graph_error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        item["_attachments"].append(attachment)
        return Response.json(201, _attachment_view(attachment))

    def create_upload_session(self, request: Request, user_ref: str, message_id: str) -> Response:
        item = self._item(user_ref, message_id)
        if item is None:
            return _item_not_found()
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
            return _item_not_found()
        if _message_size(item) + end + 1 > mailbox.max_message_size:
            return graph_error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        upload.received.extend(request.body)
        if len(upload.received) < upload.size:
            return Response.json(
                200,
                {
                    "@odata.context": "upload",
                    "ExpirationDateTime": _now(),
                    "nextExpectedRanges": [str(len(upload.received))],
                },
            )
        attachment = _new_attachment(upload.name, upload.content_type, bytes(upload.received))
        item["_attachments"].append(attachment)
        with self.lock:
            self.sessions.pop(session_id, None)
        item_path = f"users('{upload.user_id}')/messages('{upload.message_id}')"
        location = f"{request.base_url}/v1.0/{item_path}/attachments('{attachment['id']}')"
        return Response(201, b"", {"Location": location})


# --- pure helpers ---------------------------------------------------------------------------------


def _aad_error(status: int, error: str, code: int, description: str) -> Response:
    return Response.json(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": secrets.token_hex(16),
            "correlation_id": secrets.token_hex(16),
        },
    )


def _throttled(limit: str, retry_after: float) -> Response:
    """Outlook's answer over a limit; Retry-After in seconds, fractional as Graph sends it."""
    message = f"Application is over its {limit} limit."
    return graph_error(429, "ApplicationThrottled", message, {"Retry-After": f"{max(0.001, retry_after):.3f}"})


def _item_not_found() -> Response:
    return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _folder(folder_id: str, name: str, parent: str, well_known: str, hidden: bool = False) -> dict[str, Any]:
    return {
        "id": folder_id,
        "displayName": name,
        "parentFolderId": parent,
        "isHidden": hidden,
        "_wellKnownName": well_known,
    }


def _user_view(user: dict[str, Any]) -> dict[str, Any]:
    view = {
        "businessPhones": [],
        "displayName": user.get("displayName"),
        "givenName": user.get("givenName"),
        "jobTitle": user.get("jobTitle"),
        "mail": user.get("mail"),
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": user.get("surname"),
        "userPrincipalName": user.get("userPrincipalName"),
        "id": user["id"],
    }
    return {**view, **{k: v for k, v in user.items() if k not in view}}


def _select(view: dict[str, Any], select: str) -> dict[str, Any]:
    if not select:
        return view
    wanted = {s.strip() for s in select.split(",")} | {"id"}
    return {k: v for k, v in view.items() if k in wanted or k.startswith("@odata")}


def _expansions(expand: str) -> list[tuple[str, dict[str, str]]]:
    result = []
    for part in re.findall(r"(\w+)(?:\(([^)]*)\))?", expand or ""):
        name, inner = part
        options = dict(re.findall(r"(\$\w+)=((?:[^;']|'(?:[^']|'')*')*)", inner))
        result.append((name, options))
    return result


def _user_matches(user: dict[str, Any], expression: str) -> bool:
    """The subset of directory $filter the archiver uses: eq on mail/userPrincipalName, any() on proxyAddresses."""
    clauses = re.split(r"\s+or\s+", expression.strip())
    for clause in clauses:
        if match := re.fullmatch(r"(mail|userPrincipalName) eq '((?:[^']|'')*)'", clause.strip()):
            if str(user.get(match.group(1)) or "").lower() == _quoted_values(match.group(2)).lower():
                return True
        elif match := re.fullmatch(
            r"(proxyAddresses|otherMails)/any\((\w+):\s*\2 eq '((?:[^']|'')*)'\)", clause.strip()
        ):
            wanted = _quoted_values(match.group(3)).lower()
            if any(str(v).lower() == wanted for v in user.get(match.group(1)) or []):
                return True
        else:
            raise ValueError(clause)
    return False


def _property_id(value: str) -> str:
    """Extended property ids compare with the type and GUID case-insensitively, the name exactly."""
    match = re.fullmatch(r"(\w+)\s+(\{[0-9a-fA-F-]+\})\s+Name\s+(.+)", value.strip())
    if match:
        return f"{match.group(1).lower()} {match.group(2).lower()} name {match.group(3)}"
    return value.strip().lower()


def _message_matches(item: dict[str, Any], expression: str) -> bool:
    expression = expression.strip()
    svep = re.fullmatch(
        r"singleValueExtendedProperties/any\((\w+):\s*\1/id eq '((?:[^']|'')*)' and \1/value eq '((?:[^']|'')*)'\)",
        expression,
        re.IGNORECASE,
    )
    if svep:
        wanted_id, wanted_value = _property_id(_quoted_values(svep.group(2))), _quoted_values(svep.group(3)).lower()
        return any(
            _property_id(p["id"]) == wanted_id and str(p["value"]).lower() == wanted_value for p in item["_properties"]
        )
    if match := re.fullmatch(r"internetMessageId eq '((?:[^']|'')*)'", expression):
        return item.get("internetMessageId") == _quoted_values(match.group(1))
    raise ValueError(expression)


def _set_property(item: dict[str, Any], prop_id: str, value: Any) -> None:
    item["_properties"] = [p for p in item["_properties"] if _property_id(p["id"]) != _property_id(prop_id)]
    item["_properties"].append({"id": prop_id, "value": str(value)})
    key = _property_id(prop_id)
    if key == MESSAGE_FLAGS:
        item["isDraft"] = bool(int(value) & UNSENT)
    elif key == SENT_TIME:
        item["sentDateTime"] = str(value)
    elif key == RECEIVED_TIME:
        item["receivedDateTime"] = str(value)


def _check_create(body: dict[str, Any]) -> Response | None:
    """Rules of a JSON create that Graph enforces beyond the schema."""
    if {"receivedDateTime", "sentDateTime"} & set(body):  # writable in the schema, refused by Outlook
        error = UNABLE_TO_DESERIALIZE_POST_BODY
        return graph_error(error.status, error.code, error.message)
    for prop in body.get("singleValueExtendedProperties", []) or []:
        if not isinstance(prop, dict) or "id" not in prop or "value" not in prop:
            return graph_error(400, "ErrorInvalidExtendedProperty", "An extended property needs an id and a value.")
        if _property_id(str(prop["id"])) == MESSAGE_FLAGS and not str(prop["value"]).isdigit():
            return graph_error(400, "ErrorInvalidExtendedPropertyValue", "The extended property value is invalid.")
    return None


def _new_item() -> dict[str, Any]:
    now = _now()
    return {
        "id": _new_id(),
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": secrets.token_urlsafe(12),
        "categories": [],
        "receivedDateTime": now,
        "sentDateTime": now,
        "internetMessageId": f"<{secrets.token_hex(12)}@emulator.graph>",
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "conversationId": _new_id(),
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


def _from_json(body: dict[str, Any]) -> dict[str, Any]:
    item = _new_item()
    for key, value in body.items():
        if key == "singleValueExtendedProperties":
            for prop in value:
                _set_property(item, prop["id"], prop["value"])
        elif key == "attachments":
            item["_attachments"] = [_attachment(a) for a in value]
        elif key == "body":
            item["body"] = dict(value)
            item["bodyPreview"] = re.sub(r"<[^>]+>|\s+", " ", str(value.get("content", ""))).strip()[:255]
        else:
            item[key] = value
    return item


def _from_mime(data: bytes) -> dict[str, Any]:
    """A MIME create: Graph keeps the Date as sentDateTime, receives it now, and always makes a draft."""
    msg = message_from_bytes(data, policy=policy.default)
    item = _new_item()
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
            _new_attachment(
                part.get_filename() or "attachment", part.get_content_type(), part.get_payload(decode=True) or b""
            )
        )
    return item


def _attachment(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("@odata.type") != "#microsoft.graph.fileAttachment":
        raise ValueError("only #microsoft.graph.fileAttachment attachments are supported here")
    if not body.get("name") or "contentBytes" not in body:
        raise ValueError("a file attachment needs a name and contentBytes")
    try:
        data = base64.b64decode(str(body["contentBytes"]), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("contentBytes is not valid base64") from error
    return _new_attachment(str(body["name"]), str(body.get("contentType") or "application/octet-stream"), data)


def _new_attachment(name: str, content_type: str, data: bytes) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "id": _new_id(),
        "lastModifiedDateTime": _now(),
        "name": name,
        "contentType": content_type,
        "size": len(data),
        "isInline": False,
        "contentId": None,
        "contentLocation": None,
        "_data": data,
    }


def _attachment_view(attachment: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in attachment.items() if not k.startswith("_")}
    view["contentBytes"] = base64.b64encode(attachment["_data"]).decode()
    return view


def _message_size(item: dict[str, Any]) -> int:
    return len(str(item.get("body", {}).get("content", "")).encode()) + sum(a["size"] for a in item["_attachments"])


M = r"/v1\.0/users/([^/]+)"
ITEM = M + r"(?:/mailFolders/[^/]+)?/messages/([^/]+)"
A = ITEM + r"/attachments"
GraphEmulator.routes = [
    ("GET", re.compile(r"/([^/]+)/v2\.0/\.well-known/openid-configuration"), GraphEmulator.openid_configuration),
    ("POST", re.compile(r"/([^/]+)/oauth2/v2\.0/token"), GraphEmulator.token),
    ("GET", re.compile(r"/v1\.0/users"), GraphEmulator.list_users),
    ("GET", re.compile(M), GraphEmulator.get_user),
    ("GET", re.compile(M + r"/mailFolders/([^/]+)"), GraphEmulator.get_folder),
    ("DELETE", re.compile(M + r"/mailFolders/([^/]+)"), GraphEmulator.delete_folder),
    ("GET", re.compile(M + r"/mailFolders/([^/]+)/childFolders"), GraphEmulator.child_folders),
    ("POST", re.compile(M + r"/mailFolders/([^/]+)/childFolders"), GraphEmulator.create_child_folder),
    ("GET", re.compile(M + r"/mailFolders/([^/]+)/messages"), GraphEmulator.list_messages),
    ("POST", re.compile(M + r"/mailFolders/([^/]+)/messages"), GraphEmulator.create_message),
    ("GET", re.compile(M + r"/messages"), GraphEmulator.list_messages),
    ("POST", re.compile(M + r"/messages"), GraphEmulator.create_message),
    ("GET", re.compile(M + r"(?:/mailFolders/[^/]+)?/messages/([^/]+)"), GraphEmulator.get_message),
    ("PATCH", re.compile(M + r"(?:/mailFolders/[^/]+)?/messages/([^/]+)"), GraphEmulator.update_message),
    ("DELETE", re.compile(M + r"(?:/mailFolders/[^/]+)?/messages/([^/]+)"), GraphEmulator.delete_message),
    ("POST", re.compile(ITEM + r"/permanentDelete"), GraphEmulator.permanent_delete),
    ("GET", re.compile(A), GraphEmulator.list_attachments),
    ("POST", re.compile(A), GraphEmulator.add_attachment),
    ("POST", re.compile(A + r"/createUploadSession"), GraphEmulator.create_upload_session),
    ("GET", re.compile(A + r"/([^/]+?)(/\$value)?"), GraphEmulator.get_attachment),
    ("PUT", re.compile(r"/upload/([0-9a-f]+)"), GraphEmulator.upload_range),
]
