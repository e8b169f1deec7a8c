"""What the administrator chose to archive: which hosts (users, groups), how short a meeting, which file types.

The defaults archive everything. A meeting left out is never archived and its state row says why; a file type
left out is not downloaded, and the meeting's record lists the file as not archived. A meeting's length is known
only once its details are fetched, so the capture stage, not the listing, decides a short meeting. Each check
returns the reason in words an administrator reads in the state table, naming the setting that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.settings import Settings


@dataclass(frozen=True)
class Filters:
    include_users: frozenset[str] = frozenset()  # lower-case emails and Zoom user ids
    exclude_users: frozenset[str] = frozenset()
    include_groups: frozenset[str] = frozenset()  # lower-case Zoom group ids
    exclude_groups: frozenset[str] = frozenset()
    min_duration_minutes: int = 0
    file_types: frozenset[str] = frozenset()  # empty: every type

    @classmethod
    def from_settings(cls, settings: Settings) -> Filters:
        return cls(
            include_users=frozenset(settings.zoom_include_users),
            exclude_users=frozenset(settings.zoom_exclude_users),
            include_groups=frozenset(settings.zoom_include_groups),
            exclude_groups=frozenset(settings.zoom_exclude_groups),
            min_duration_minutes=settings.archive_min_duration_minutes,
            file_types=frozenset(settings.archive_file_types),
        )

    def host_excluded(self, user: dict[str, Any]) -> str:
        """Why the meetings this Zoom user hosts are not archived; empty when they are."""
        names = {str(user.get(k) or "").strip().lower() for k in ("id", "email")} - {""}
        groups = {str(g).strip().lower() for g in user.get("group_ids") or []}
        if names & self.exclude_users:
            return "the host is excluded by ZOOM_EXCLUDE_USERS"
        if groups & self.exclude_groups:
            return "the host is in a group excluded by ZOOM_EXCLUDE_GROUPS"
        included = names & self.include_users or groups & self.include_groups
        if (self.include_users or self.include_groups) and not included:
            return "the host is not named by ZOOM_INCLUDE_USERS nor in a group of ZOOM_INCLUDE_GROUPS"
        return ""

    def too_short(self, lasted: timedelta) -> str:
        """Why a meeting that lasted this long is not archived; empty when it is. How long a meeting lasted comes
        from the meeting itself (its end time, or its participants), never from the recordings listing, whose
        `duration` is what was recorded (0 for most instant meetings). No minimum (0) leaves nothing out."""
        if self.min_duration_minutes and lasted < timedelta(minutes=self.min_duration_minutes):
            minutes = max(0, int(lasted.total_seconds()) // 60)
            return (
                f"the meeting lasted {minutes} minute(s), less than ARCHIVE_MIN_DURATION_MINUTES "
                f"({self.min_duration_minutes})"
            )
        return ""

    def archives(self, file_type: str) -> bool:
        """Whether files of this Zoom `file_type` are downloaded and archived."""
        return not self.file_types or file_type.upper() in self.file_types
