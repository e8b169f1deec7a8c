"""How patiently each kind of Zoom call is tried: one `RetryPolicy` each for the API, the token and downloads."""

from __future__ import annotations

from shared.retry import RetryPolicy

TIMEOUT = (10, 60)  # seconds to connect, and between two reads of an answer
BACKOFF = (0.25, 30.0)  # seconds before the first retry, and at most
ATTEMPTS = 6  # per API call: 429s, 5xx and lost connections together
TOKEN_ATTEMPTS = 3
DOWNLOAD_ATTEMPTS = 4  # per file: each broken connection resumes where it stopped
# A 429 asking to wait longer than this makes the work wait for a later run (as for the daily quota): the
# invocation would otherwise sleep through it, maybe past the Functions timeout. No wait is longer.
LONG_WAIT_SECONDS = 60.0
# A 429 for a per-second or per-minute limit asking to wait longer than this is not believed (a date years
# ahead has been seen): it is a transient limit, paused for and retried like any other, never a long stop.
MAX_RETRY_AFTER_SECONDS = 3600.0


def _policy(attempts: int) -> RetryPolicy:
    """Failures of either kind (no answer; a 429 or a 5xx) count against one budget: the attempts."""
    return RetryPolicy(
        attempts=attempts, connection=attempts, status=attempts, backoff=BACKOFF, max_wait=LONG_WAIT_SECONDS
    )


API_RETRIES = _policy(ATTEMPTS)
TOKEN_RETRIES = _policy(TOKEN_ATTEMPTS)
DOWNLOAD_RETRIES = _policy(DOWNLOAD_ATTEMPTS)
