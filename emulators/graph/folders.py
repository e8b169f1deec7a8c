"""Mail folders: the well-known ones, child folders under Inbox, and their counts."""

from __future__ import annotations

import re
from typing import Any

from emulators.base import Request, Response, route
from emulators.graph.errors import graph_error, item_not_found
from emulators.graph.model import USER, Mailbox, folder_record, new_id
from emulators.graph.odata import quoted_values, select


class Folders:
    """`mailFolders/{id | well-known name}` and their `childFolders`."""

    @route("GET", USER + r"/mailFolders/([^/]+)")
    def get_folder(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        folder_id = self._folder_id(mailbox, folder_ref)
        if folder_id is None:
            return item_not_found()
        return Response.json(200, select(self._folder_view(mailbox, folder_id), request.arg("$select")))

    @route("DELETE", USER + r"/mailFolders/([^/]+)")
    def delete_folder(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        """A user deletes a folder: it goes, with what it holds (well-known folders cannot be deleted)."""
        _, mailbox = self._mailbox(user_ref)
        folder_id = self._folder_id(mailbox, folder_ref)
        if folder_id is None or mailbox.folders[folder_id]["_wellKnownName"]:
            return item_not_found()
        gone = {folder_id}
        while children := {f for f, v in mailbox.folders.items() if v["parentFolderId"] in gone} - gone:
            gone |= children
        for fid in gone:
            del mailbox.folders[fid]
        for item_id in [i for i, m in mailbox.messages.items() if m["parentFolderId"] in gone]:
            del mailbox.messages[item_id]
        return Response(204)

    @route("GET", USER + r"/mailFolders/([^/]+)/childFolders")
    def child_folders(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        parent = self._folder_id(mailbox, folder_ref)
        if parent is None:
            return item_not_found()
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
            name = quoted_values(match.group(1)).lower()
            children = [fid for fid in children if mailbox.folders[fid]["displayName"].lower() == name]
        views = [select(self._folder_view(mailbox, fid), request.arg("$select")) for fid in children]
        return Response.json(200, {"value": views})

    @route("POST", USER + r"/mailFolders/([^/]+)/childFolders")
    def create_child_folder(self, request: Request, user_ref: str, folder_ref: str) -> Response:
        _, mailbox = self._mailbox(user_ref)
        parent = self._folder_id(mailbox, folder_ref)
        body = request.json()
        if parent is None:
            return item_not_found()
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
        folder_id = new_id()
        mailbox.folders[folder_id] = folder_record(folder_id, name, parent, "", bool(body.get("isHidden", False)))
        return Response.json(201, self._folder_view(mailbox, folder_id))

    def _folder_view(self, mailbox: Mailbox, folder_id: str) -> dict[str, Any]:
        folder = {k: v for k, v in mailbox.folders[folder_id].items() if not k.startswith("_")}
        items = [m for m in mailbox.messages.values() if m["parentFolderId"] == folder_id]
        folder["childFolderCount"] = sum(f["parentFolderId"] == folder_id for f in mailbox.folders.values())
        folder["totalItemCount"] = len(items)
        folder["unreadItemCount"] = sum(not m["isRead"] for m in items)
        return folder

    def _folder_id(self, mailbox: Mailbox, ref: str) -> str | None:
        for folder_id, folder in mailbox.folders.items():
            if ref == folder_id or ref.lower() == folder.get("_wellKnownName"):
                return folder_id
        return None
