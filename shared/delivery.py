"""Stage 3 (blob): import one archived message into the mailbox of every internal participant.

One state row per (meeting, mailbox) and per unmapped participant says what happened and why. Mailboxes
already done are skipped on a retry, so a meeting imported into 9 of 10 mailboxes resumes with the 10th.
Permanent failures are recorded and not retried; transient ones make the invocation fail so the host
retries it, a bounded number of times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from shared.graph import AmbiguousResult, GraphError
from shared.mailbox import MailboxImporter, NoMailbox
from shared.mapping import NO_MAILBOX, Directory, plan_recipients
from shared.message import read_message
from shared.settings import Settings
from shared.state import DELIVERED, DUPLICATE, FAILED, IMPORTED, PARTIAL, UNMAPPED, State, mailbox_row, unmapped_row

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Some mailboxes failed for a reason that may pass (throttling, a server error, a lost response)."""


@dataclass(frozen=True)
class Delivery:
    archive_key: str
    imported: int
    duplicates: int
    unmapped: int
    failed: int


def import_message(
    data: bytes, *, importer: MailboxImporter, directory: Directory, state: State, settings: Settings
) -> Delivery:
    message = read_message(data)
    key = message.archive_key
    day = message.date.date().isoformat()
    targets, unmapped = plan_recipients([message.host, *message.participants], settings.organization_domains, directory)
    rows = state.deliveries(key)
    for u in unmapped:
        state.update_delivery(
            key,
            unmapped_row(u.person.name, u.person.email),
            status=UNMAPPED,
            reason=u.reason,
            code=u.code,
            participant=u.person.name,
            participant_email=u.person.email,
            day=day,
        )
    counts = {IMPORTED: 0, DUPLICATE: 0, UNMAPPED: len(unmapped), FAILED: 0}
    transient: list[str] = []
    for target in targets:
        row_key = mailbox_row(target.mailbox.address)
        previous = rows.get(row_key, {})
        if previous.get("status") in (IMPORTED, DUPLICATE):
            counts[previous["status"]] += 1
            continue
        fields = {
            "mailbox": target.mailbox.address,
            "participant": ", ".join(p.name for p in target.people),
            "participant_email": ", ".join(p.email for p in target.people),
            "attempts": int(previous.get("attempts", 0)) + 1,
            "day": day,
        }
        try:
            outcome = importer.import_message(target.mailbox, message)
            state.update_delivery(
                key, row_key, status=outcome.status, item_id=outcome.item_id, code="", reason="", **fields
            )
            counts[outcome.status] += 1
        except NoMailbox as error:
            state.update_delivery(key, row_key, status=UNMAPPED, reason=NO_MAILBOX, code=error.code, **fields)
            counts[UNMAPPED] += 1
        except GraphError as error:
            retryable = error.status == 429 or error.status >= 500
            state.update_delivery(
                key,
                row_key,
                status=FAILED,
                code=error.code or str(error.status),
                reason=str(error)[:1000],
                retryable=retryable,
                **fields,
            )
            counts[FAILED] += 1
            if retryable:
                transient.append(target.mailbox.address)
        except (AmbiguousResult, requests.RequestException) as error:
            state.update_delivery(
                key,
                row_key,
                status=FAILED,
                code=type(error).__name__,
                reason=str(error)[:1000],
                retryable=True,
                **fields,
            )
            counts[FAILED] += 1
            transient.append(target.mailbox.address)
    state.update_meeting(
        key,
        delivery=PARTIAL if counts[FAILED] else DELIVERED,
        mailboxes=len(targets),
        imported=counts[IMPORTED],
        duplicates=counts[DUPLICATE],
        unmapped=counts[UNMAPPED],
        failed=counts[FAILED],
    )
    log.info(
        "delivered to %d mailbox(es): %d imported, %d already there, %d unmapped, %d failed",
        len(targets),
        counts[IMPORTED],
        counts[DUPLICATE],
        counts[UNMAPPED],
        counts[FAILED],
    )
    if transient:
        raise RetryLater(f"{len(transient)} mailbox(es) failed for a reason that may pass; the import is retried")
    return Delivery(key, counts[IMPORTED], counts[DUPLICATE], counts[UNMAPPED], counts[FAILED])
