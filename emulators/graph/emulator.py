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

import re
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from emulators.base import Emulator, Request, Response
from emulators.graph.attachments import Attachments
from emulators.graph.auth import EntraId
from emulators.graph.errors import graph_error
from emulators.graph.folders import Folders
from emulators.graph.messages import Messages
from emulators.graph.model import MB, WELL_KNOWN_FOLDERS, WRITES, Mailbox, UploadSession, folder_record, new_id
from emulators.graph.schema import GraphSchema
from emulators.graph.throttling import Limits, Throttling
from emulators.graph.users import Users

DEFAULT_CLIENT_ID = "00000000-0000-4000-8000-000000000002"
DEFAULT_CLIENT_SECRET = "demo-graph-secret"
REQUEST_LIMIT = 4 * 1024 * 1024
USER_KEYS = ("mailbox", "maxMessageSizeMb", "quotaExceeded", "accessDenied")  # the emulator's, not Graph's


class GraphEmulator(EntraId, Users, Folders, Messages, Attachments, Throttling, Emulator):
    """The tenant: each resource's routes are declared in its own module, next to their handlers."""

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
                    folder_id = new_id()
                    mailbox.folders[folder_id] = folder_record(folder_id, display, "", well_known)
                self.mailboxes[record["id"]] = mailbox
        self.tokens: dict[str, float] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.mailbox_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

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

    def _mailbox(self, user_ref: str) -> tuple[dict[str, Any], Mailbox]:
        user = self._user(user_ref)
        assert user is not None
        return user, self.mailboxes[user["id"]]

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
