"""The archiver's functions: read this file to find the stage that handles each step.

Settings are read and checked here, at start: a bad setting stops the app with one message naming it.
"""

import os

import azure.functions as func

from shared.archiver import Archiver
from shared.records import MeetingRef
from shared.settings import load_settings
from shared.storage import MEETINGS_QUEUE, MESSAGES_CONTAINER

archiver = Archiver(load_settings(os.environ))
app = func.FunctionApp()


@app.timer_trigger(arg_name="timer", schedule="%ARCHIVE_SCHEDULE%", run_on_startup=False, use_monitor=True)
def enumerate_meetings(timer: func.TimerRequest) -> None:
    """List Zoom's recorded meeting instances since the checkpoint; queue each one not yet archived."""
    archiver.enumerate_meetings()


@app.queue_trigger(arg_name="msg", queue_name=MEETINGS_QUEUE, connection="AzureWebJobsStorage")
def capture_meeting(msg: func.QueueMessage) -> None:
    """Fetch one meeting instance from Zoom and write its archived message to the messages container."""
    archiver.capture_meeting(MeetingRef.from_json(msg.get_body()), attempt=msg.dequeue_count or 1)


@app.blob_trigger(
    arg_name="blob",
    path=MESSAGES_CONTAINER + "/{name}",
    connection="AzureWebJobsStorage",
    source=func.BlobSource.EVENT_GRID,
)
def import_message(blob: func.InputStream) -> None:
    """Import one archived message into the Microsoft 365 mailbox of every mapped participant."""
    archiver.import_message(blob.read())
