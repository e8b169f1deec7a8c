"""The Graph emulator follows Graph's contract (../shared/reference/microsoft-graph.md §13), so a wrong import
path, an oversized request or a client that ignores throttling fails here as it would against a tenant."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from local.world import World
from tests.conftest import shared_file
from tests.tenant import GraphReader, Person, Tenant

pytestmark = pytest.mark.integration

MB = 1024 * 1024


class Graph(GraphReader):
    """Plain Graph calls with the app's token, no retries: what the emulator answers is what the test sees."""

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.world.graph.url}/v1.0{path}"
        return self.http.request(
            method, url, headers={**self.headers, **kwargs.pop("headers", {})}, timeout=30, **kwargs
        )


def inbox(person: Person) -> str:
    return f"/users/{person.graph_id}/mailFolders/inbox"


def test_a_fifth_concurrent_request_on_one_mailbox_is_throttled(fresh: World, tenant: Tenant) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    fresh.graph.seed({**tenant.graph_seed(), "latency": 0.3})
    graph = Graph(fresh)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda p: graph.send("GET", inbox(p)), [alice] * 5 + [bob]))
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 1 and answers[-1].status_code == 200, "another mailbox is not affected"
    assert refused[0].json()["error"]["code"] == "ApplicationThrottled"
    assert 0 < float(refused[0].headers["Retry-After"]) < 1


def test_request_and_upload_budgets_per_mailbox_answer_429_with_a_fractional_retry_after(
    fresh: World, tenant: Tenant
) -> None:
    alice, bob = tenant.person("Alice Archer"), tenant.person("Bob Baker")
    limits = {"requests": 3, "requests_window": 30, "upload_mb": 1, "upload_window": 30}
    fresh.graph.seed({**tenant.graph_seed(), "limits": limits})
    graph = Graph(fresh)
    assert [graph.send("GET", inbox(alice)).status_code for _ in range(4)] == [200, 200, 200, 429]
    over = graph.send("GET", inbox(alice))
    assert over.json()["error"]["code"] == "ApplicationThrottled"
    assert 0 < float(over.headers["Retry-After"]) <= 30 and "." in over.headers["Retry-After"]
    body = {"subject": "big", "body": {"contentType": "text", "content": "x" * (MB * 6 // 10)}}
    first = graph.send("POST", f"{inbox(bob)}/messages", json=body)
    second = graph.send("POST", f"{inbox(bob)}/messages", json=body)
    assert (first.status_code, second.status_code) == (201, 429), "1.2 MB within the window is over 1 MB"


def test_only_a_json_create_with_the_message_flags_makes_a_non_draft(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    graph = Graph(fresh)
    mime = b"From: a@contoso.example\r\nTo: b@contoso.example\r\nSubject: hi\r\n\r\nbody\r\n"
    from_mime = graph.send(
        "POST", f"{inbox(alice)}/messages", data=base64.b64encode(mime), headers={"Content-Type": "text/plain"}
    )
    plain_json = graph.send("POST", f"{inbox(alice)}/messages", json={"subject": "hi"})
    flagged = graph.send(
        "POST",
        f"{inbox(alice)}/messages",
        json={"subject": "hi", "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "1"}]},
    )
    assert [r.json()["isDraft"] for r in (from_mime, plain_json, flagged)] == [True, True, False]


def test_a_body_graphs_schema_refuses_is_refused(fresh: World, tenant: Tenant) -> None:
    shared_file("specs/graph/v1.0-Prod.csdl")  # the emulator checks bodies only when Graph's schema is there
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    response = Graph(fresh).send("POST", f"{inbox(alice)}/messages", json={"subjectt": "x"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "UnableToDeserializePostBody")


def test_requests_graph_refuses_are_refused_with_graphs_codes(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    erin = tenant.person("Erin Ellis", mailbox=False)
    fresh.graph.seed(tenant.graph_seed())
    graph = Graph(fresh)

    def code(response: requests.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert code(graph.send("GET", inbox(erin))) == (404, "MailboxNotEnabledForRESTAPI")
    too_big = {"subject": "x", "body": {"contentType": "text", "content": "x" * (4 * MB)}}
    assert code(graph.send("POST", f"{inbox(alice)}/messages", json=too_big)) == (413, "RequestEntityTooLarge")
    folder = {"displayName": "Zoom Meetings"}
    assert graph.send("POST", f"{inbox(alice)}/childFolders", json=folder).status_code == 201
    assert code(graph.send("POST", f"{inbox(alice)}/childFolders", json=folder)) == (400, "ErrorFolderExists")


def test_a_json_create_keeps_its_file_attachments_and_refuses_other_kinds(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    graph = Graph(fresh)
    attachment = {"name": "notes.txt", "contentType": "text/plain", "contentBytes": base64.b64encode(b"hello").decode()}
    created = graph.send(
        "POST",
        f"{inbox(alice)}/messages",
        json={"subject": "x", "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", **attachment}]},
    )
    stored = graph.send("GET", f"{inbox(alice)}/messages/{created.json()['id']}/attachments").json()["value"]
    assert [(a["name"], a["size"], base64.b64decode(a["contentBytes"])) for a in stored] == [("notes.txt", 5, b"hello")]
    other = {"@odata.type": "#microsoft.graph.itemAttachment", "name": "notes.txt"}
    refused = graph.send("POST", f"{inbox(alice)}/messages", json={"subject": "y", "attachments": [other]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ErrorInvalidRequest")
    assert [m["subject"] for m in graph.send("GET", f"{inbox(alice)}/messages").json()["value"]] == ["x"]


def test_a_next_link_keeps_the_query_it_pages_through(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    graph = Graph(fresh)
    message_id = "<a+b&c=d@zoom-archive.example>"
    for subject in ("one", "two", "three"):
        graph.send("POST", f"{inbox(alice)}/messages", json={"subject": subject, "internetMessageId": message_id})
    first = graph.send(
        "GET", f"{inbox(alice)}/messages", params={"$filter": f"internetMessageId eq '{message_id}'", "$top": "2"}
    ).json()
    second = graph.http.get(first["@odata.nextLink"], headers=graph.headers, timeout=30).json()
    assert sorted(m["subject"] for m in first["value"] + second["value"]) == ["one", "three", "two"]
    assert "@odata.nextLink" not in second


def test_an_upload_session_takes_ordered_ranges_on_its_pre_authenticated_url_only(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    fresh.graph.seed(tenant.graph_seed())
    graph = Graph(fresh)
    draft = graph.send("POST", f"{inbox(alice)}/messages", json={"subject": "with a big file"}).json()
    data = bytes(range(256)) * (4 * MB // 256 + 1)  # over 3 MB, in two ranges
    attachment = {"attachmentType": "file", "name": "big.bin", "size": len(data)}
    session = graph.send(
        "POST",
        f"/users/{alice.graph_id}/messages/{draft['id']}/attachments/createUploadSession",
        json={"AttachmentItem": attachment},
    ).json()
    url, half = session["uploadUrl"], len(data) // 2

    def put(start: int, end: int, **headers: str) -> requests.Response:
        headers = {"Content-Range": f"bytes {start}-{end - 1}/{len(data)}", **headers}
        return graph.http.put(url, data=data[start:end], headers=headers, timeout=30)

    signed = put(0, half, Authorization=graph.headers["Authorization"])
    assert (signed.status_code, signed.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")
    assert put(half, len(data)).status_code == 416, "ranges come in order"
    first = put(0, half)
    assert (first.status_code, first.json()["nextExpectedRanges"]) == (200, [str(half)]), "as Outlook answers: no dash"
    assert put(half, len(data)).status_code == 201
    (stored,) = graph.send("GET", f"/users/{alice.graph_id}/messages/{draft['id']}/attachments").json()["value"]
    assert base64.b64decode(stored["contentBytes"]) == data
