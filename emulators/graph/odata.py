"""The OData query options the emulated resources share: $select, $expand and quoted literals."""

from __future__ import annotations

import re
from typing import Any


def quoted_values(text: str) -> str:
    return text.replace("''", "'")


def select(view: dict[str, Any], fields: str) -> dict[str, Any]:
    """The view with only the `$select`ed properties (and its id and OData annotations); all without one."""
    if not fields:
        return view
    wanted = {name.strip() for name in fields.split(",")} | {"id"}
    return {k: v for k, v in view.items() if k in wanted or k.startswith("@odata")}


def expansions(expand: str) -> list[tuple[str, dict[str, str]]]:
    result = []
    for part in re.findall(r"(\w+)(?:\(([^)]*)\))?", expand or ""):
        name, inner = part
        options = dict(re.findall(r"(\$\w+)=((?:[^;']|'(?:[^']|'')*')*)", inner))
        result.append((name, options))
    return result
