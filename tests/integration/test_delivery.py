"""The import stage: the right mailboxes, each once, and a recorded reason for every one that is not.

Each test hands archived messages to the import stage (`Archiver.import_message`) against Azurite and the
Graph emulator, then reads the mailboxes through ordinary Graph calls and the state rows from Table storage.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from azure.data.tables import TableServiceClient

from local.world import World
from shared import claims
from shared.archiver import Archiver
from shared.delivery import RetryLater
from shared.graph import AuthenticationFailed
from shared.message.reader import read_message
from shared.settings import load_settings
from shared.state import mailbox_row
from tests.tenant import GraphReader, Person, Tenant, archived

pytestmark = pytest.mark.integration


def archiver(world: World, **settings: str) -> Archiver:
    return Archiver(load_settings(world.app_settings(**settings)))


def items(world: World, person: Person) -> list[dict]:
    graph = GraphReader(world)
    folder = graph.folder(person)
    return graph.items(person, folder) if folder else []


def rows(world: World, message: bytes) -> list[dict]:
    tables = TableServiceClient.from_connection_string(world.azurite.connection_string)
    key = read_message(message).archive_key
    return list(tables.get_table_client("deliveries").query_entities(f"PartitionKey eq '{key}'"))


def meeting_row(world: World, message: bytes) -> dict:
    tables = TableServiceClient.from_connection_string(world.azurite.connection_string)
    return tables.get_table_client("meetings").get_entity(read_message(message).archive_key, "meeting")


def mailbox_requests(world: World, person: Person) -> list[dict]:
    return [r for r in world.graph.requests() if r["path"].startswith(f"/v1.0/users/{person.graph_id}/")]


def test_the_mapping_file_comes_before_automatic_matching_which_knows_aliases(
    fresh: World, tenant: Tenant, tmp_path: Path
) -> None:
    alice = tenant.person("Alice Archer")
    archive = tenant.person("Archive Mailbox", zoom=False)
    bob = tenant.person("Bob Baker", upn="robert.baker@contoso.example", aliases=("BOB@Contoso.example",))
    old_carol = tenant.person("Carol Cole", domain="contoso-old.example")  # her Zoom account, outside the domains
    carol = tenant.person("Carol Cole", zoom=False)
    fresh.graph.seed(tenant.graph_seed())
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(
        f"zoom_user,microsoft_365_address\n{alice.email},{archive.email}\n{old_carol.zoom_id},{carol.email}\n"
    )
    message = archived(old_carol, alice, bob)

    delivery = archiver(fresh, USER_MAPPING_FILE=str(mapping)).import_message(message)

    assert (delivery.imported, delivery.unmapped) == (3, 0)
    assert [len(items(fresh, p)) for p in (archive, bob, carol)] == [1, 1, 1]
    assert items(fresh, alice) == [], "the file maps Alice's Zoom email to the archive mailbox, not hers"
    assert {r["mailbox"] for r in rows(fresh, message)} == {archive.email, "robert.baker@contoso.example", carol.email}


def test_a_bad_mapping_file_stops_the_app_naming_the_row(fresh: World, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("zoom_user,microsoft_365_address\nalice@contoso.example,alice\n")
    result = fresh.run_host(fresh.app_settings(USER_MAPPING_FILE=str(mapping)))
    assert result.returncode != 0
    assert "row 2: 'alice' is not an email address" in result.stderr
    assert not fresh.graph.requests(), "nothing is delivered with a mapping the admin must fix"


def test_who_gets_no_copy_is_recorded_with_the_reason_and_the_default_mailbox_stands_in(
    fresh: World, tenant: Tenant
) -> None:
    alice = tenant.person("Alice Archer")
    guest = tenant.person("Grace Guest", domain="fabrikam.example", zoom=False)
    erin = tenant.person("Erin Ellis", mailbox=False)
    frank = tenant.person("Frank Fox", graph=False)
    officer = tenant.person("Compliance Officer", zoom=False)
    fresh.graph.seed(tenant.graph_seed())
    message = archived(alice, guest, erin, frank)
    stage = archiver(fresh, DEFAULT_MAILBOX=officer.email)

    delivery = stage.import_message(message)

    assert (delivery.imported, delivery.unmapped) == (2, 3)
    assert len(items(fresh, alice)) == 1 and len(items(fresh, officer)) == 1
    found = {r["participant_email"]: r for r in rows(fresh, message)}
    assert (found[guest.email]["reason"], found[guest.email]["fallback"]) == ("external", "")
    assert (found[frank.email]["reason"], found[frank.email]["fallback"]) == ("no such user", officer.email)
    assert (found[erin.email]["status"], found[erin.email]["reason"]) == ("unmapped", "no mailbox")
    assert found[erin.email]["code"] == "MailboxNotEnabledForRESTAPI"
    stand_in = found[f"{frank.email}, {erin.email}"]
    assert (stand_in["mailbox"], stand_in["stand_in"], stand_in["status"]) == (officer.email, True, "imported")
    lookups = [unquote_plus(r["query"]) for r in fresh.graph.requests()]
    assert not [q for q in lookups if "fabrikam" in q], "an external guest is never looked up in the tenant"

    fresh.graph.clear_requests()
    written = {r["RowKey"]: r.metadata["etag"] for r in rows(fresh, message)}
    stage.import_message(message)  # delivered again (a duplicate event): every row is settled
    assert not [r for r in fresh.graph.requests() if r["method"] != "GET"]
    assert {r["RowKey"]: r.metadata["etag"] for r in rows(fresh, message)} == written, "settled rows are not rewritten"


def test_only_the_host_gets_a_copy_when_so_set(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    fresh.graph.seed(tenant.graph_seed())
    message = archived(alice, bob)

    archiver(fresh, MAILBOX_RECIPIENTS="host").import_message(message)

    assert (len(items(fresh, alice)), items(fresh, bob)) == (1, [])
    assert [r["mailbox"] for r in rows(fresh, message)] == [alice.email]
    assert not [r for r in fresh.graph.requests() if bob.email in unquote_plus(r["query"])]


def test_a_meeting_imported_into_9_of_10_mailboxes_resumes_with_the_10th_only(fresh: World, tenant: Tenant) -> None:
    people = [tenant.person(f"Person{n} Test") for n in range(10)]
    fresh.graph.seed(tenant.graph_seed())
    last = people[-1]
    fresh.graph.fault(
        {
            "method": "POST",
            "path": f"/users/{last.graph_id}/mailFolders/[^/]+/messages$",
            "status": 503,
            "headers": {"Retry-After": "0"},
            "times": -1,
        }
    )
    message = archived(people[0], *people[1:])
    stage = archiver(fresh)
    with pytest.raises(RetryLater):
        stage.import_message(message)
    assert sorted(r["status"] for r in rows(fresh, message)) == ["failed"] + ["imported"] * 9

    fresh.graph.clear_faults()
    fresh.graph.clear_requests()
    delivery = stage.import_message(message)

    touched = {r["path"].split("/")[3] for r in fresh.graph.requests() if r["path"].startswith("/v1.0/users/")}
    assert touched == {last.graph_id}, "the second attempt goes to the 10th mailbox only"
    assert (delivery.imported, delivery.failed) == (10, 0)
    assert all(len(items(fresh, p)) == 1 for p in people)


def test_permanent_refusals_are_recorded_with_their_code_and_never_retried(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    full = tenant.person("Fiona Full")
    scoped_out = tenant.person("Oscar Outside")
    tenant.mailbox(full, quotaExceeded=True)
    tenant.mailbox(scoped_out, accessDenied=True)
    fresh.graph.seed(tenant.graph_seed())
    message = archived(alice, full, scoped_out)
    # Alice's mailbox fails for a reason that passes, so the stage is retried.
    fault = {"path": f"/users/{alice.graph_id}/", "status": 503, "headers": {"Retry-After": "0"}, "times": -1}
    fresh.graph.fault(fault)
    stage = archiver(fresh)
    with pytest.raises(RetryLater):
        stage.import_message(message)
    found = {r["mailbox"]: r for r in rows(fresh, message)}
    assert found[full.email]["code"] == "ErrorQuotaExceeded"
    assert (
        found[full.email]["reason"].startswith("mailbox full: ")
        and "maximum mailbox size" in found[full.email]["reason"]
    )
    assert found[scoped_out.email]["code"] == "ErrorAccessDenied"
    assert (
        "RBAC" in found[scoped_out.email]["reason"]
        and "Access to OData is disabled" in found[scoped_out.email]["reason"]
    )
    assert not found[full.email]["retryable"] and not found[scoped_out.email]["retryable"]
    assert found[alice.email]["retryable"]

    fresh.graph.clear_faults()
    fresh.graph.clear_requests()
    delivery = stage.import_message(message)

    assert (delivery.imported, delivery.failed) == (1, 2)
    assert len(items(fresh, alice)) == 1
    assert mailbox_requests(fresh, full) == [] and mailbox_requests(fresh, scoped_out) == []
    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    meeting = tables.get_table_client("meetings").get_entity(read_message(message).archive_key, "meeting")
    assert (meeting["delivery"], meeting["failed"]) == ("partial", 2)
    assert found[alice.email]["RowKey"] == mailbox_row(alice.email)


def test_two_workers_importing_the_same_message_at_once_make_one_item_per_mailbox(fresh: World, tenant: Tenant) -> None:
    """Event Grid may deliver a blob event twice: both invocations run, and Graph has no idempotency key."""
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    fresh.graph.seed({**tenant.graph_seed(), "latency": 0.2})  # both look before either creates
    message = archived(alice, bob)
    workers = [archiver(fresh), archiver(fresh)]

    def run(worker: Archiver) -> str:
        try:
            worker.import_message(message)
        except RetryLater:
            return "retry later"
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(run, workers))
    retried = [run(worker) for worker, outcome in zip(workers, outcomes, strict=True) if outcome != "done"]

    assert [len(items(fresh, person)) for person in (alice, bob)] == [1, 1]
    assert "done" in outcomes + retried
    assert sorted(r["status"] for r in rows(fresh, message)) == ["imported", "imported"]
    assert not [r for r in rows(fresh, message) if r.get("claimed_by")], "every claim is released"


def test_an_unexpected_error_releases_the_mailbox_so_the_next_attempt_imports(fresh: World, tenant: Tenant) -> None:
    """Not only Graph fails: a storage fault or an answer we cannot read must not leave the claim held."""
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    created_without_id = {"method": "POST", "path": "/mailFolders/[^/]+/messages$", "status": 201, "body": {}}
    fresh.graph.fault(created_without_id)
    message = archived(alice)

    with pytest.raises(RetryLater):
        archiver(fresh).import_message(message)
    (row,) = rows(fresh, message)
    assert (row["status"], row["code"], row["retryable"], row["claimed_by"]) == ("failed", "KeyError", True, "")
    assert row["reason"].startswith("unexpected KeyError at mailbox.py:"), "where, never the error's text"

    delivery = archiver(fresh).import_message(message)  # the host's retry: another invocation, another owner

    assert delivery.imported == 1 and len(items(fresh, alice)) == 1


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> timedelta:
    """Claims lapse after 3 seconds instead of 30, so that a test waits less for a dead worker's."""
    monkeypatch.setattr(claims, "LEASE", timedelta(seconds=3))
    return claims.LEASE


def test_a_mailbox_another_live_worker_imports_is_left_to_it_without_failing(
    fresh: World, tenant: Tenant, short_lease: timedelta
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    fresh.graph.seed(tenant.graph_seed())
    message = archived(alice, bob)
    stage = archiver(fresh)
    stage.storage.ensure_created()
    key = read_message(message).archive_key
    other = stage.state.claim_delivery(key, mailbox_row(bob.email), "another-worker", None, "2026-03-01")
    assert isinstance(other, claims.Lease)

    with other:  # the other worker is alive: its heartbeat renews the claim
        delivery = stage.import_message(message)  # no RetryLater: the other worker's own trigger retries it

    assert (delivery.imported, len(items(fresh, alice)), items(fresh, bob)) == (1, 1, [])
    assert meeting_row(fresh, message)["delivery"] == "partial", "Bob's mailbox has no item yet"
    (bob_row,) = [r for r in rows(fresh, message) if r["RowKey"] == mailbox_row(bob.email)]
    assert (bob_row.get("status"), bob_row["claimed_by"]) == (None, "another-worker")

    delivery = stage.import_message(message)  # the other worker died: its claim lapsed, and is taken over

    assert (len(items(fresh, alice)), len(items(fresh, bob))) == (1, 1)
    assert meeting_row(fresh, message)["delivery"] == "delivered"
    assert all(r["status"] == "imported" and not r["claimed_by"] for r in rows(fresh, message))


def test_a_replay_leaves_a_mailbox_another_live_worker_imports_to_it(
    fresh: World, tenant: Tenant, short_lease: timedelta
) -> None:
    """A replay reopens what did not put an item in a mailbox, but a claim held by a live worker is that worker's
    import in progress: reopened, it would be imported a second time beside it, and Graph has no idempotency key."""
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    fresh.graph.seed(tenant.graph_seed())
    message = archived(alice, bob)
    stage = archiver(fresh)
    stage.storage.ensure_created()
    key = read_message(message).archive_key
    refused = {"status": "failed", "retryable": False, "code": "ErrorAccessDenied", "mailbox": alice.email}
    stage.state.update_delivery(key, mailbox_row(alice.email), **refused)  # since fixed by the admin
    other = stage.state.claim_delivery(key, mailbox_row(bob.email), "another-worker", None, "2026-03-01")
    assert isinstance(other, claims.Lease)

    with other:
        assert stage.state.reopen_deliveries(key) == 1
        delivery = stage.import_message(message)

    assert (delivery.imported, len(items(fresh, alice)), items(fresh, bob)) == (1, 1, [])
    (bob_row,) = [r for r in rows(fresh, message) if r["RowKey"] == mailbox_row(bob.email)]
    assert bob_row["claimed_by"] == "another-worker"


def test_a_claim_left_by_a_worker_that_died_is_taken_over_once_its_lease_lapses(
    fresh: World, tenant: Tenant, short_lease: timedelta
) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    fresh.graph.seed(tenant.graph_seed())
    message = archived(alice, bob)
    tables = TableServiceClient.from_connection_string(fresh.azurite.connection_string)
    tables.create_table_if_not_exists("deliveries").create_entity(
        {
            "PartitionKey": read_message(message).archive_key,
            "RowKey": mailbox_row(bob.email),
            "claimed_by": "a-worker-killed-mid-import",
            "claimed_until": (datetime.now(UTC) + short_lease).isoformat(),
        }
    )

    delivery = archiver(fresh).import_message(message)

    assert (delivery.imported, len(items(fresh, alice)), len(items(fresh, bob))) == (2, 1, 1)
    assert meeting_row(fresh, message)["delivery"] == "delivered"


def test_entra_refusing_the_app_aborts_the_import_and_settles_no_mailbox(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    fresh.graph.seed(tenant.graph_seed())
    stage = archiver(fresh)
    stage.import_message(archived(alice, bob, topic="First"))  # the folders and the directory are known now
    message = archived(alice, bob, topic="Second")
    revoked = {"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}}
    expired = {"error": "invalid_client", "error_description": "AADSTS7000222: The client secret keys are expired."}
    fresh.graph.fault(
        {"method": "POST", "path": "/mailFolders/[^/]+/messages$", "status": 401, "body": revoked, "times": 2},
        {"method": "POST", "path": "/oauth2/v2.0/token$", "status": 401, "body": expired, "times": -1},
    )

    with pytest.raises(AuthenticationFailed):
        stage.import_message(message)
    assert [(r.get("status"), r.get("claimed_by")) for r in rows(fresh, message)] == [(None, "")] * 2

    fresh.graph.clear_faults()  # the admin renewed the secret
    delivery = stage.import_message(message)
    assert delivery.imported == 2
