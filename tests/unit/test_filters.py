"""The administrator's filters: hosts by user and group, a minimum duration, file types; defaults keep all."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from shared.filters import Filters
from shared.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
ALICE = {"id": "zAlice0001", "email": "Alice@Contoso.example", "group_ids": ["gSales"]}
BOB = {"id": "zBob0002", "email": "bob@contoso.example", "group_ids": []}


def filters(**settings: str) -> Filters:
    values = {**json.loads((ROOT / "local.settings.sample.json").read_text())["Values"], "TLS_CA_FILE": ""}
    return Filters.from_settings(load_settings({**values, **settings}))


def test_by_default_every_host_meeting_and_file_type_is_archived() -> None:
    default = filters()
    assert default.host_excluded(ALICE) == default.host_excluded(BOB) == default.host_excluded({}) == ""
    assert default.too_short(timedelta(0)) == default.too_short(timedelta(minutes=-5)) == ""
    assert all(default.archives(t) for t in ("MP4", "CC", "TIMELINE", "SUMMARY", ""))


@pytest.mark.parametrize("name", ["alice@contoso.example", "ZALICE0001"])
def test_a_user_is_named_by_email_or_zoom_id_whatever_the_case(name: str) -> None:
    assert filters(ZOOM_INCLUDE_USERS=name).host_excluded(ALICE) == ""
    assert "ZOOM_INCLUDE_USERS" in filters(ZOOM_INCLUDE_USERS=name).host_excluded(BOB)
    assert "ZOOM_EXCLUDE_USERS" in filters(ZOOM_EXCLUDE_USERS=f"other@x.example, {name}").host_excluded(ALICE)


def test_groups_include_and_exclude_their_members() -> None:
    assert filters(ZOOM_INCLUDE_GROUPS="gsales").host_excluded(ALICE) == ""
    assert "ZOOM_INCLUDE_GROUPS" in filters(ZOOM_INCLUDE_GROUPS="gSales").host_excluded(BOB)
    assert "ZOOM_EXCLUDE_GROUPS" in filters(ZOOM_EXCLUDE_GROUPS="gSales").host_excluded(ALICE)


def test_either_include_list_lets_a_host_in_and_an_exclusion_wins() -> None:
    both = filters(ZOOM_INCLUDE_USERS="bob@contoso.example", ZOOM_INCLUDE_GROUPS="gSales")
    assert both.host_excluded(ALICE) == both.host_excluded(BOB) == ""
    excluded = filters(ZOOM_INCLUDE_GROUPS="gSales", ZOOM_EXCLUDE_USERS="zAlice0001")
    assert "ZOOM_EXCLUDE_USERS" in excluded.host_excluded(ALICE)


def test_a_meeting_shorter_than_the_minimum_is_left_out_with_how_long_it_lasted() -> None:
    five = filters(ARCHIVE_MIN_DURATION_MINUTES="5")
    assert five.too_short(timedelta(minutes=5)) == five.too_short(timedelta(hours=3)) == ""
    assert five.too_short(timedelta(minutes=4, seconds=59)) == (
        "the meeting lasted 4 minute(s), less than ARCHIVE_MIN_DURATION_MINUTES (5)"
    )


def test_only_the_chosen_file_types_are_archived() -> None:
    text = filters(ARCHIVE_FILE_TYPES="chat, TRANSCRIPT,cc")
    assert [t for t in ("MP4", "M4A", "CHAT", "TRANSCRIPT", "CC", "TIMELINE") if text.archives(t)] == [
        "CHAT",
        "TRANSCRIPT",
        "CC",
    ]
