"""Which Microsoft 365 mailboxes receive a meeting: participants matched to users by email.

Only internal participants (email in the organisation's domains) are ever looked up: a copy in the wrong
mailbox is a privacy breach. Each one is matched by `GET /users/{email}` (mail or userPrincipalName), then
by a `$filter` on `mail`, `userPrincipalName` and `proxyAddresses` (aliases). Who could not be matched is
reported with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from shared.graph import GraphClient, GraphError
from shared.records import Person, is_internal

EXTERNAL = "external"
NO_EMAIL = "no email"
NO_SUCH_USER = "no such user"
NO_MAILBOX = "no mailbox"


@dataclass(frozen=True)
class Mailbox:
    address: str
    user_id: str


@dataclass(frozen=True)
class Target:
    """A mailbox that gets the item, and the participants it stands for."""

    mailbox: Mailbox
    people: tuple[Person, ...]


@dataclass(frozen=True)
class Unmapped:
    person: Person
    reason: str
    code: str = ""


def _quoted(value: str) -> str:
    return value.replace("'", "''")


class Directory:
    """Looks users up in Microsoft Entra; the answers are cached for the life of the object (one run)."""

    def __init__(self, graph: GraphClient):
        self.graph = graph
        self._cache: dict[str, Mailbox | None] = {}

    def find(self, email: str) -> Mailbox | None:
        key = email.strip().lower()
        if key not in self._cache:
            self._cache[key] = self._lookup(key)
        return self._cache[key]

    def _lookup(self, email: str) -> Mailbox | None:
        select = {"$select": "id,mail,userPrincipalName"}
        try:
            user = self.graph.request("GET", f"/users/{quote(email, safe='@')}", params=select)
            return Mailbox(address=str(user.get("mail") or user.get("userPrincipalName") or email), user_id=user["id"])
        except GraphError as error:
            if error.status != 404:
                raise
        value = _quoted(email)
        query = (
            f"mail eq '{value}' or userPrincipalName eq '{value}' or "
            f"proxyAddresses/any(p:p eq 'smtp:{value}') or proxyAddresses/any(p:p eq 'SMTP:{value}')"
        )
        found = self.graph.request("GET", "/users", params={**select, "$filter": query}).get("value") or []
        if len(found) != 1:
            return None  # none, or an ambiguous alias: never guess a mailbox
        user = found[0]
        return Mailbox(address=str(user.get("mail") or user.get("userPrincipalName") or email), user_id=user["id"])


def plan_recipients(
    people: list[Person], domains: tuple[str, ...], directory: Directory
) -> tuple[list[Target], list[Unmapped]]:
    """The mailboxes that get a copy (one per mailbox, however many participants map to it), and the rest."""
    targets: dict[str, list[Person]] = {}
    mailboxes: dict[str, Mailbox] = {}
    unmapped: list[Unmapped] = []
    seen: set[str] = set()
    for person in people:
        email = person.email.strip().lower()
        identity = email or f"name:{person.name}"
        if identity in seen:
            continue
        seen.add(identity)
        if not email:
            unmapped.append(Unmapped(person, NO_EMAIL))
        elif not is_internal(email, domains):
            unmapped.append(Unmapped(person, EXTERNAL))
        elif (mailbox := directory.find(email)) is None:
            unmapped.append(Unmapped(person, NO_SUCH_USER))
        else:
            mailboxes[mailbox.user_id] = mailbox
            targets.setdefault(mailbox.user_id, []).append(person)
    return [Target(mailboxes[uid], tuple(ps)) for uid, ps in targets.items()], unmapped
