"""The Graph client against the Graph emulator: mailbox slots, Retry-After, ambiguous writes, token renewal."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.world import World
from shared.graph import AmbiguousResult, AuthenticationFailed, GraphClient
from shared.http import session
from shared.settings import load_settings
from tests.tenant import TENANT_ID, Person, Tenant

pytestmark = pytest.mark.integration


def client(world: World) -> GraphClient:
    settings = load_settings(world.app_settings())
    return GraphClient(settings, session(settings.tls_ca_file))


def seed(world: World, tenant: Tenant, **extra: object) -> None:
    world.graph.seed({**tenant.graph_seed(), **extra})


def folders_path(person: Person) -> str:
    return f"/users/{person.graph_id}/mailFolders/inbox/childFolders"


def test_one_process_sends_a_mailbox_at_most_4_requests_at_a_time(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant, latency=0.2)  # every mailbox request takes a while, so requests overlap
    graph = client(fresh)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: graph.request("GET", folders_path(alice), mailbox=alice.graph_id), range(12)))
    assert all(a == {"value": []} for a in answers)
    statuses = [r["status"] for r in fresh.graph.requests() if r["path"].startswith("/v1.0/users/")]
    assert statuses == [200] * 12, "no request may be over Outlook's limit of 4 concurrent requests per mailbox"


def test_throttling_and_unavailability_are_ridden_out_honouring_retry_after(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant)
    fresh.graph.fault(
        {"method": "GET", "path": "/childFolders", "status": 429, "headers": {"Retry-After": "0.25"}, "times": 3},
        {"method": "GET", "path": "/childFolders", "status": 503, "headers": {"Retry-After": "0.125"}, "times": 2},
    )
    assert client(fresh).request("GET", folders_path(alice), mailbox=alice.graph_id) == {"value": []}
    log = [r for r in fresh.graph.requests() if r["path"].endswith("/childFolders")]
    assert [r["status"] for r in log] == [429, 429, 429, 503, 503, 200]
    waits = [later["time"] - earlier["time"] for earlier, later in itertools.pairwise(log)]
    assert all(w >= 0.25 for w in waits[:3]) and all(w >= 0.125 for w in waits[3:]), "Retry-After is fractional seconds"


def test_a_write_whose_outcome_is_unknown_is_looked_for_before_it_is_sent_again(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant)
    graph = client(fresh)
    body = {"displayName": "Zoom Meetings", "isHidden": False}
    looked: list[int] = []

    def recover() -> dict | None:
        looked.append(1)
        found = graph.request("GET", folders_path(alice), mailbox=alice.graph_id)["value"]
        return found[0] if found else None

    # The work was done but its answer lost: found, not done twice.
    fresh.graph.fault({"method": "POST", "path": "/childFolders", "action": "drop_after"})
    created = graph.request("POST", folders_path(alice), json=body, mailbox=alice.graph_id, recover=recover)
    assert created["displayName"] == "Zoom Meetings" and looked == [1]
    # A 503 answered before the work: nothing found, so sent again.
    fresh.graph.fault({"method": "POST", "path": "/childFolders", "status": 503, "headers": {"Retry-After": "0.01"}})
    second = {"displayName": "Other", "isHidden": False}
    graph.request("POST", folders_path(alice), json=second, mailbox=alice.graph_id, recover=lambda: None)
    names = sorted(f["displayName"] for f in graph.request("GET", folders_path(alice))["value"])
    assert names == ["Other", "Zoom Meetings"]
    posts = [r["status"] for r in fresh.graph.requests() if r["method"] == "POST" and "childFolders" in r["path"]]
    assert posts == [0, 503, 201]  # 0: the answer that never came
    # Without a way to look, an ambiguous write is the caller's to resolve.
    fresh.graph.fault({"method": "POST", "path": "/childFolders", "action": "drop"})
    with pytest.raises(AmbiguousResult):
        graph.request("POST", folders_path(alice), json={"displayName": "Third"}, mailbox=alice.graph_id)


def test_a_token_graph_refuses_is_renewed_once(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant)
    graph = client(fresh)
    graph.request("GET", folders_path(alice))
    fresh.graph.fault(
        {
            "path": "/childFolders",
            "status": 401,
            "body": {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}},
        }
    )
    assert graph.request("GET", folders_path(alice)) == {"value": []}
    tokens = [r for r in fresh.graph.requests() if r["path"] == f"/{TENANT_ID}/oauth2/v2.0/token"]
    assert len(tokens) == 2, "one token at first, one more after Graph refused it"


def token_path() -> str:
    return f"/{TENANT_ID}/oauth2/v2.0/token"


def test_entra_failing_for_a_moment_is_ridden_out_like_graph_throttling(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant)
    # Retry-After 0: MSAL would otherwise answer the next attempts itself, from its cache of the failure.
    again = {"Retry-After": "0"}
    unavailable = {"error": "temporarily_unavailable", "error_description": "AADSTS50196: The server is busy."}
    fresh.graph.fault(
        {"method": "POST", "path": f"^{token_path()}$", "status": 503, "headers": again, "times": 2},
        {"method": "POST", "path": f"^{token_path()}$", "status": 400, "headers": again, "body": unavailable},
    )
    assert client(fresh).request("GET", folders_path(alice), mailbox=alice.graph_id) == {"value": []}
    tokens = [r["status"] for r in fresh.graph.requests() if r["path"] == token_path()]
    assert tokens == [503, 503, 400, 200]


def test_entra_refusing_the_app_is_not_a_graph_error_of_any_mailbox(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant)
    expired = {"error": "invalid_client", "error_description": "AADSTS7000222: The client secret keys are expired."}
    fresh.graph.fault({"method": "POST", "path": f"^{token_path()}$", "status": 401, "body": expired})
    with pytest.raises(AuthenticationFailed, match="invalid_client"):
        client(fresh).request("GET", folders_path(alice), mailbox=alice.graph_id)
    assert [r["status"] for r in fresh.graph.requests() if r["path"] == token_path()] == [401], "not retried"


def test_the_token_goes_to_absolute_urls_under_graphs_api_url_only(fresh: World, tenant: Tenant) -> None:
    alice = tenant.person("Alice Archer")
    seed(fresh, tenant)
    graph = client(fresh)
    next_link = f"{graph.settings.graph_api_url}{folders_path(alice)}?$top=1"
    assert graph.request("GET", next_link) == {"value": []}
    fresh.zoom.clear_requests()
    with pytest.raises(ValueError, match="not a Microsoft Graph URL"):
        graph.request("GET", f"{fresh.zoom.url}/v2/users")
    assert not fresh.zoom.requests(), "another host never sees the Graph token"
