"""Fixtures of the contract tests: Zoom's published spec, loaded once per session."""

from __future__ import annotations

import pytest

from tests.contract.zoom_spec import SPEC_DIR, SPEC_FILES, ZoomSpec


@pytest.fixture(scope="session")
def spec() -> ZoomSpec:
    if not all((SPEC_DIR / name).is_file() for name in SPEC_FILES):
        pytest.skip("../shared/specs/zoom/*-openapi.json not found: contract checks need Zoom's published specs")
    return ZoomSpec.load(SPEC_DIR)
