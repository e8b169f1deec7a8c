"""The archiver's functions: read this file to find the stage that handles each step.

Settings are read and checked here, at start: a bad setting stops the app with one message naming it.
"""

import json
import os
from datetime import UTC, datetime

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob_sdk

from shared import status, telemetry
from shared.archiver import Archiver
from shared.records import MeetingRef, MessageRef
from shared.settings import load_settings
from shared.storage import IMPORTS_QUEUE, MEETINGS_QUEUE, MESSAGES_CONTAINER

telemetry.configure(os.environ)
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
def import_message(blob: blob_sdk.BlobClient) -> None:
    """Import one archived message into the Microsoft 365 mailbox of every mapped participant.

    The binding is the blob's client, not its bytes: the message (up to 150 MB) is read by ranges."""
    archiver.import_message(blob.blob_name)


@app.queue_trigger(arg_name="msg", queue_name=IMPORTS_QUEUE, connection="AzureWebJobsStorage")
def retry_import(msg: func.QueueMessage) -> None:
    """Import an archived message again, as the sweep asked (the blob trigger cannot be fired twice)."""
    archiver.redeliver(MessageRef.from_json(msg.get_body()))


# Anonymous: Zoom cannot hold a function key, and its HMAC signature (checked in shared/webhook.py) is the
# authentication. Requests that are unsigned, stale or replayed are refused before anything is queued.
@app.route(route="zoom/webhook", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def zoom_webhook(req: func.HttpRequest) -> func.HttpResponse:
    """Zoom event notifications: a signed recording.completed queues its meeting within seconds."""
    reply = archiver.receive_webhook(req.get_body(), dict(req.headers))
    return func.HttpResponse(json.dumps(reply.body), status_code=reply.status, mimetype="application/json")


@app.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def status_log(req: func.HttpRequest) -> func.HttpResponse:
    """The status log per day (HTML; ?format=json or csv; ?days=N or ?from=&to=), behind the function key."""
    try:
        first, last, form = status.query(req.params, datetime.now(UTC).date())
    except ValueError as error:
        return func.HttpResponse(str(error), status_code=400, mimetype="text/plain")
    body, content_type, headers = status.render(archiver.status(first, last), form)
    return func.HttpResponse(body, headers=headers, mimetype=content_type, charset="utf-8")


@app.timer_trigger(arg_name="timer", schedule="%RECONCILE_SCHEDULE%", run_on_startup=False, use_monitor=True)
def reconcile(timer: func.TimerRequest) -> None:
    """Compare Zoom's inventory of recent days with what reached each mailbox; store the completeness reports."""
    archiver.reconcile()


@app.timer_trigger(arg_name="timer", schedule="%SWEEP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    """Drive again the work that stopped short (poison queues, the reports' gaps), with back-off; then fail it
    for good, for a person, with the reason."""
    archiver.sweep()
