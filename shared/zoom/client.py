"""The Zoom client the pipeline uses: the typed calls over one transport, and the downloads, sharing a token."""

from __future__ import annotations

from typing import BinaryIO

import requests
from azure.data.tables import TableClient

from shared.settings import Settings
from shared.zoom.budget import AccountBudget
from shared.zoom.downloads import Download, Downloads
from shared.zoom.endpoints import Endpoints
from shared.zoom.ratelimit import PLANS, RateLimiter
from shared.zoom.token import Tokens
from shared.zoom.transport import Transport


class ZoomClient(Endpoints):
    """One per process: it holds the token (valid for an hour) and the rate limiter across invocations; the
    account's rate-limit budget is in `budget` (a table every instance shares)."""

    def __init__(self, settings: Settings, session: requests.Session, budget: TableClient):
        self.tokens = Tokens(settings, session)
        self.budget = AccountBudget(
            budget, settings.zoom_account_id, PLANS[settings.zoom_plan], settings.zoom_rate_share / 100
        )
        limiter = RateLimiter(self.budget)
        super().__init__(Transport(settings.zoom_api_url, session, self.tokens, limiter))
        self.downloads = Downloads(session, self.tokens, settings.zoom_download_hosts)

    def download(self, url: str, sink: BinaryIO) -> Download:
        """Stream a recording file into `sink`; see `Downloads.download`."""
        return self.downloads.download(url, sink)
