"""The archiver as the triggers see it: the clients built once per process, and the three stages.

`function_app.py`, the local host, the admin CLI and the tests all go through this one object, so every
entry point runs the same code with the same settings.
"""

from __future__ import annotations

import threading
from datetime import date

from shared import capture, delivery, inventory
from shared.graph import GraphClient
from shared.http import session
from shared.mailbox import MailboxImporter
from shared.mapping import Directory, UserMapping, read_mapping_file
from shared.records import MeetingRef
from shared.settings import Settings
from shared.state import State
from shared.storage import MEETINGS_QUEUE, MESSAGES_CONTAINER, RECORDINGS_CONTAINER, Storage
from shared.zoom import ZoomClient


class Archiver:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.storage = Storage(settings.storage)
        self.state = State(self.storage)
        self.zoom = ZoomClient(settings, session(settings.tls_ca_file))
        self.graph = GraphClient(settings, session(settings.tls_ca_file))
        self.importer = MailboxImporter(
            self.graph, self.state, settings.mailbox_folder, self.storage.container(RECORDINGS_CONTAINER)
        )
        self.directory = Directory(self.graph)
        # Read at start: a bad row stops the app with a message naming it, before any meeting is delivered.
        self.mapping = (
            read_mapping_file(settings.user_mapping_file, settings.organization_domains)
            if settings.user_mapping_file
            else UserMapping()
        )
        self._ready = False
        self._ready_lock = threading.Lock()

    def _ensure_storage(self) -> None:
        with self._ready_lock:
            if not self._ready:
                self.storage.ensure_created()
                self._ready = True

    def enumerate_meetings(self, today: date | None = None) -> inventory.Listing:
        """Timer: queue every meeting instance Zoom has a recording for and we have not archived."""
        self._ensure_storage()
        return inventory.enumerate_meetings(
            self.zoom, self.state, self.storage.queue(MEETINGS_QUEUE), self.settings, today
        )

    def capture_meeting(self, ref: MeetingRef, attempt: int = 1) -> capture.Capture:
        """Queue: fetch one meeting from Zoom and write its message blob."""
        self._ensure_storage()
        return capture.capture_meeting(
            ref,
            attempt,
            zoom=self.zoom,
            state=self.state,
            messages=self.storage.container(MESSAGES_CONTAINER),
            recordings=self.storage.container(RECORDINGS_CONTAINER),
            settings=self.settings,
        )

    def import_message(self, data: bytes) -> delivery.Delivery:
        """Blob: put one archived message into the mailbox of every mapped participant."""
        self._ensure_storage()
        return delivery.import_message(
            data,
            importer=self.importer,
            directory=self.directory,
            mapping=self.mapping,
            state=self.state,
            settings=self.settings,
        )
