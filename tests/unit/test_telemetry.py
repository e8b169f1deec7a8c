"""Telemetry dimensions: set per unit of work, nested per mailbox, never shared between threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from shared import telemetry


@pytest.fixture
def captured() -> Iterator[list[logging.LogRecord]]:
    """Records of a logger of our own, with the dimension factory installed (and removed afterwards)."""
    factory = logging.getLogRecordFactory()
    telemetry.install()
    found: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = found.append  # type: ignore[method-assign]
    logger = logging.getLogger("tests.telemetry")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield found
    logger.removeHandler(handler)
    logging.setLogRecordFactory(factory)


def test_every_record_of_a_unit_carries_its_dimensions_and_a_mailbox_only_while_inside_it(
    captured: list[logging.LogRecord],
) -> None:
    log = logging.getLogger("tests.telemetry.child")  # a child logger: its records get them too
    with telemetry.dimensions(stage="import", meeting_uuid="u1", archive_key="k1"):
        log.info("start")
        with telemetry.dimensions(mailbox="alice@contoso.example"):
            log.info("in the mailbox")
        log.info("done")
    log.info("outside")

    seen = [(r.getMessage(), getattr(r, "stage", None), getattr(r, "mailbox", None)) for r in captured]
    assert seen == [
        ("start", "import", None),
        ("in the mailbox", "import", "alice@contoso.example"),
        ("done", "import", None),
        ("outside", None, None),
    ]
    assert all(getattr(r, "meeting_uuid", None) == "u1" for r in captured[:3])


def test_concurrent_units_on_threads_keep_their_own_dimensions(captured: list[logging.LogRecord]) -> None:
    log = logging.getLogger("tests.telemetry")
    barrier = threading.Barrier(2)

    def unit(uuid: str) -> None:
        with telemetry.dimensions(stage="capture", meeting_uuid=uuid):
            barrier.wait()
            log.info(uuid)

    threads = [threading.Thread(target=unit, args=(uuid,)) for uuid in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted((r.getMessage(), r.meeting_uuid) for r in captured) == [("a", "a"), ("b", "b")]


def test_a_stage_failure_is_the_record_the_alerts_count(captured: list[logging.LogRecord]) -> None:
    with telemetry.dimensions(stage="capture"):
        telemetry.stage_failed(logging.getLogger("tests.telemetry"), "zoom_429", final=False)

    (record,) = captured
    assert (record.event, record.stage, record.code, record.final) == ("stage_failed", "capture", "zoom_429", False)
    assert record.levelno == logging.ERROR


def test_only_known_dimensions_are_accepted() -> None:
    with pytest.raises(ValueError, match="topic"), telemetry.dimensions(topic="Board call"):
        pass


def test_install_is_done_once() -> None:
    factory = logging.getLogRecordFactory()
    try:
        telemetry.install()
        installed = logging.getLogRecordFactory()
        telemetry.install()
        assert logging.getLogRecordFactory() is installed
    finally:
        logging.setLogRecordFactory(factory)
