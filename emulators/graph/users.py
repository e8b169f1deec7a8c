"""The directory: users by id or user principal name, and the $filter subset the archiver's mapping uses."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from emulators.base import Request, Response, route
from emulators.graph.errors import graph_error
from emulators.graph.model import USER
from emulators.graph.odata import quoted_values, select


class Users:
    """`GET /users` with `$filter`, and `GET /users/{id | userPrincipalName}`."""

    @route("GET", USER)
    def get_user(self, request: Request, user_ref: str) -> Response:
        user = self._user(user_ref)
        if user is None:
            return graph_error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{unquote(user_ref)}' does not exist or one of its queried reference-property objects "
                "are not present.",
            )
        return Response.json(200, select(user_view(user), request.arg("$select")))

    @route("GET", r"/v1\.0/users")
    def list_users(self, request: Request) -> Response:
        users = list(self.users.values())
        if expression := request.arg("$filter"):
            try:
                users = [u for u in users if user_matches(u, expression)]
            except ValueError:
                return graph_error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        return Response.json(200, {"value": [select(user_view(u), request.arg("$select")) for u in users]})

    def _user(self, ref: str) -> dict[str, Any] | None:
        key = unquote(ref).strip("'()").lower()
        for user in self.users.values():
            if key in (user["id"].lower(), str(user.get("userPrincipalName", "")).lower()):
                return user
        return None


def user_view(user: dict[str, Any]) -> dict[str, Any]:
    view = {
        "businessPhones": [],
        "displayName": user.get("displayName"),
        "givenName": user.get("givenName"),
        "jobTitle": user.get("jobTitle"),
        "mail": user.get("mail"),
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": user.get("surname"),
        "userPrincipalName": user.get("userPrincipalName"),
        "id": user["id"],
    }
    return {**view, **{k: v for k, v in user.items() if k not in view}}


def user_matches(user: dict[str, Any], expression: str) -> bool:
    """The subset of directory $filter the archiver uses: eq on mail/userPrincipalName, any() on proxyAddresses."""
    clauses = re.split(r"\s+or\s+", expression.strip())
    for clause in clauses:
        if match := re.fullmatch(r"(mail|userPrincipalName) eq '((?:[^']|'')*)'", clause.strip()):
            if str(user.get(match.group(1)) or "").lower() == quoted_values(match.group(2)).lower():
                return True
        elif match := re.fullmatch(
            r"(proxyAddresses|otherMails)/any\((\w+):\s*\2 eq '((?:[^']|'')*)'\)", clause.strip()
        ):
            wanted = quoted_values(match.group(3)).lower()
            if any(str(v).lower() == wanted for v in user.get(match.group(1)) or []):
                return True
        else:
            raise ValueError(clause)
    return False
