"""A seeded archive run with injected permanent failures, for the status log and the completeness report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from local.world import World
from shared.zoom import encode_uuid
from tests.tenant import Meeting, Person, Tenant

ACCESS_DENIED = {
    "error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}
}


def mailbox_refuses(person: Person) -> dict:
    """A fault: Graph refuses every item created in this person's mailbox, as an Exchange RBAC scope does."""
    return {
        "method": "POST",
        "path": f"^/v1.0/users/{person.graph_id}/mailFolders/[^/]+/messages$",
        "status": 403,
        "body": ACCESS_DENIED,
        "times": -1,
    }


def daily_limit_spent(path: str, category: str, **headers: str) -> dict:
    """A fault: Zoom's 429 for a spent daily quota, as its docs show it, on requests whose path matches."""
    return {
        "method": "GET",
        "path": path,
        "status": 429,
        "headers": {"X-RateLimit-Category": category, "X-RateLimit-Type": "Daily-limit", **headers},
        "body": {"code": 429, "message": "You have reached the maximum daily rate limit for this API."},
    }


@dataclass
class FailedRun:
    world: World
    alice: Person
    bob: Person
    review: Meeting  # imported for Alice; Bob's mailbox refuses it; an external guest is unmapped
    broken: Meeting  # Zoom refuses its participant list: capture fails every attempt
    fine: Meeting
    output: str


@pytest.fixture
def failed_run(fresh: World, tenant: Tenant) -> FailedRun:
    alice = tenant.person("Alice Archer")
    bob = tenant.person("Bob Baker")
    guest = tenant.person("Grace Guest", domain="fabrikam.example", zoom=False)
    review = tenant.meeting(
        alice, "Review <b>Q3</b> & plans", attendees=[(alice, 0, 30), (bob, 0, 30), (guest, 0, 10)], days_ago=2
    )
    broken = tenant.meeting(alice, "Broken", days_ago=3)
    broken.extra["auto_delete_date"] = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    fine = tenant.meeting(alice, "Fine", days_ago=3)
    tenant.apply(fresh)
    fresh.zoom.fault(
        {
            "method": "GET",
            "path": f"^/v2/past_meetings/{encode_uuid(broken.uuid)}/participants",
            "status": 400,
            "body": {"code": 300, "message": "Cannot access meeting information."},
            "times": -1,
        }
    )
    fresh.graph.fault(mailbox_refuses(bob))
    result = fresh.run_host(fresh.app_settings(AzureFunctionsJobHost__extensions__queues__visibilityTimeout="00:00:00"))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # the broken meeting ends in meetings-poison
    return FailedRun(fresh, alice, bob, review, broken, fine, output)
