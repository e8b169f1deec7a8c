"""Zoom's REST API, by concern: the token (`token`), authorised GETs within the rate limits (`transport`,
`ratelimit`) and how patiently each kind of call is tried (`retries`), the calls the archiver makes
(`endpoints`), recording downloads (`downloads`), what Zoom's errors mean (`errors`), and the client that
puts them together (`client`). Nothing is retried forever: each call has a bounded number of attempts.
"""

from shared.zoom.client import ZoomClient
from shared.zoom.downloads import DownloadError
from shared.zoom.endpoints import ENDPOINTS, encode_uuid
from shared.zoom.errors import ZoomError
from shared.zoom.ratelimit import DailyLimitReached

__all__ = ["ENDPOINTS", "DailyLimitReached", "DownloadError", "ZoomClient", "ZoomError", "encode_uuid"]
