"""Every app setting the archiver reads, validated once at start.

The `Settings` dataclass is the single list of settings: each field names its app setting, its meaning
and its default. `load_settings` reads them all and raises one `SettingsError` that names every missing
or invalid setting, so an administrator fixes a bad configuration in one pass. Secret values never
appear in errors or in `repr`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.ncrontab import Schedule

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("
# The beginnings of the archiver's own setting names: another setting that starts so is a misspelt one.
OUR_PREFIXES = ("ARCHIVE_", "ZOOM_", "GRAPH_", "MAILBOX_", "ORGANIZATION_", "RECONCILE_", "SWEEP_", "WORKBOOK_")
APP_ROOT = Path(__file__).resolve().parent.parent  # the folder of function_app.py, as deployed
# The `file_type` values of Zoom's recording files (the spec's enum, plus TIMELINE, which it documents).
# The `file_type` values of Zoom's archive files add SUB_GROUP_MEMBER_LOG (who was in which subgroup when).
ZOOM_FILE_TYPES = (
    "MP4",
    "M4A",
    "CHAT",
    "TRANSCRIPT",
    "CC",
    "TIMELINE",
    "CSV",
    "SUMMARY",
    "TB",
    "CHAT_MESSAGE",
    "SUB_GROUP_MEMBER_LOG",
)
# Where the archived meetings come from (README "Sources"): cloud recordings, Zoom's compliance archiving, and
# every past meeting from Zoom's usage reports, recorded or not.
RECORDINGS, ARCHIVING, MEETINGS = "recordings", "archiving", "meetings"
SOURCES = (RECORDINGS, ARCHIVING, MEETINGS)


class SettingsError(Exception):
    """One or more app settings are missing or invalid; the message names each of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"The archiver cannot start: {len(problems)} app setting(s) need attention:\n{lines}")


@dataclass(frozen=True)
class StorageConnection:
    """How to reach the storage account: a connection string (Azurite, or keys) or managed identity."""

    connection_string: str = field(default="", repr=False)
    blob_url: str = ""
    queue_url: str = ""
    table_url: str = ""
    client_id: str = ""  # user-assigned managed identity; empty means the system-assigned identity

    @property
    def uses_identity(self) -> bool:
        return not self.connection_string


def _text(value: str) -> str:
    return value


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a whole number above 0")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be a whole number, 0 or more")
    return number


def _percent(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 100:
        raise ValueError("must be a whole number of percent, from 1 to 100")
    return number


def _message_size(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 150:
        raise ValueError("must be between 1 and 150 (MB), the range Exchange Online accepts")
    return number


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https:// URL")
    return value.rstrip("/")


def _optional_https_url(value: str) -> str:
    return _https_url(value) if value else ""


def _domain_list(value: str) -> tuple[str, ...]:
    domains = tuple(d.strip().lower().lstrip("@") for d in value.split(",") if d.strip())
    if not domains:
        raise ValueError("must list at least one domain")
    for domain in domains:
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", domain):
            raise ValueError(f"{domain!r} is not a domain name")
    return domains


def _ncrontab(value: str) -> str:
    """An NCRONTAB schedule the timer can run: 6 fields in range, firing at least once in five years."""
    try:
        Schedule(value).next_after(datetime.now(UTC))
    except ValueError as error:
        raise ValueError(
            f"must be an NCRONTAB expression with 6 fields, second minute hour day month weekday ({error})"
        ) from None
    return value


def _id_list(value: str) -> tuple[str, ...]:
    """Comma-separated emails or Zoom ids, compared without case; empty means none."""
    return tuple(item.strip().lower() for item in value.split(",") if item.strip())


def _file_types(value: str) -> tuple[str, ...]:
    types = tuple(item.strip().upper() for item in value.split(",") if item.strip())
    unknown = [t for t in types if t not in ZOOM_FILE_TYPES]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not a Zoom recording file type ({', '.join(ZOOM_FILE_TYPES)})")
    return types


def _sources(value: str) -> tuple[str, ...]:
    sources = tuple(dict.fromkeys(item.strip().lower() for item in value.split(",") if item.strip()))
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise ValueError(f"must list one or more of {', '.join(SOURCES)}")
    return sources


def _percent(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 100:
        raise ValueError("must be a whole number from 1 to 100")
    return number


def _folder_name(value: str) -> str:
    if not value.strip() or "/" in value or any(ord(c) < 32 for c in value):
        raise ValueError("must be a folder name without '/' or control characters")
    return value.strip()


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.strip().lower() not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value.strip().lower()

    return parse


def _optional_address(value: str) -> str:
    if value and not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", value):
        raise ValueError("must be an email address (or be empty)")
    return value


def _app_file(value: str) -> str:
    """A file deployed with the app: a relative path starts at the app's folder, wherever the host runs it."""
    if not value:
        return ""
    path = Path(value) if Path(value).is_absolute() else APP_ROOT / value
    if not path.is_file():
        raise ValueError(f"must name an existing file (a relative path starts at {APP_ROOT}), or be empty")
    return str(path)


def setting(
    meaning: str,
    *,
    default: str | None = None,
    secret: bool = False,
    parse: Callable[[str], Any] = _text,
    env: str = "",
) -> Any:
    """Declare one app setting; `default=None` makes it required."""
    metadata = {"meaning": meaning, "default": default, "secret": secret, "parse": parse, "env": env}
    return field(repr=not secret, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    storage: StorageConnection = setting(
        "Storage account for queues, blobs and state: a connection string locally; in Azure the identity-based "
        "AzureWebJobsStorage__blobServiceUri / __queueServiceUri / __tableServiceUri / __credential / "
        "__clientId settings instead.",
        secret=True,
        env="AzureWebJobsStorage",
    )
    archive_schedule: str = setting(
        "When the archive timer runs (NCRONTAB, 6 fields, UTC).", default="0 0 2 * * *", parse=_ncrontab
    )
    archive_backfill_days: int = setting(
        "How many days back the first run looks, before any checkpoint exists.",
        default="30",
        parse=_positive_int,
    )
    archive_overlap_days: int = setting(
        "Days before the checkpoint that each run re-reads, to catch recordings that finished processing late.",
        default="2",
        parse=_non_negative_int,
    )
    archive_min_duration_minutes: int = setting(
        "Meetings that lasted less than this many minutes are not archived (0 archives them all); how long the "
        "meeting lasted, not how much of it was recorded.",
        default="0",
        parse=_non_negative_int,
    )
    archive_file_types: tuple[str, ...] = setting(
        "Comma-separated Zoom recording file types to download and archive (MP4, M4A, CHAT, TRANSCRIPT, CC, "
        "TIMELINE, CSV, SUMMARY, TB, CHAT_MESSAGE, SUB_GROUP_MEMBER_LOG); empty archives every type. A file of "
        "another type is listed in the meeting's record as not archived.",
        default="",
        parse=_file_types,
    )
    zoom_include_users: tuple[str, ...] = setting(
        "Comma-separated Zoom users (email or user ID) whose meetings are archived; empty means every user "
        "(unless ZOOM_INCLUDE_GROUPS names groups).",
        default="",
        parse=_id_list,
    )
    zoom_exclude_users: tuple[str, ...] = setting(
        "Comma-separated Zoom users (email or user ID) whose meetings are never archived; wins over the include "
        "settings.",
        default="",
        parse=_id_list,
    )
    zoom_include_groups: tuple[str, ...] = setting(
        "Comma-separated Zoom group IDs whose members' meetings are archived; empty means every user (unless "
        "ZOOM_INCLUDE_USERS names users).",
        default="",
        parse=_id_list,
    )
    zoom_exclude_groups: tuple[str, ...] = setting(
        "Comma-separated Zoom group IDs whose members' meetings are never archived; wins over the include settings.",
        default="",
        parse=_id_list,
    )
    zoom_auth: str = setting(
        "How the archiver signs in to Zoom: s2s (a Server-to-Server OAuth app) or jwt (a legacy JWT app, whose "
        "API key goes in ZOOM_CLIENT_ID and API secret in ZOOM_CLIENT_SECRET).",
        default="s2s",
        parse=_one_of("s2s", "jwt"),
    )
    zoom_account_id: str = setting("Account ID of the Zoom Server-to-Server OAuth app.")
    zoom_client_id: str = setting("Client ID of the Zoom Server-to-Server OAuth app (API key of a JWT app).")
    zoom_client_secret: str = setting(
        "Client secret of the Zoom Server-to-Server OAuth app (API secret of a JWT app).", secret=True
    )
    zoom_plan: str = setting(
        "The Zoom account's plan, whose API rate limits the archiver keeps within: pro, business or enterprise "
        "(Business and higher have the same limits).",
        default="pro",
        parse=_one_of("pro", "business", "enterprise"),
    )
    zoom_rate_share: int = setting(
        "The share of the Zoom account's API rate limits the archiver uses, in percent, across all its instances "
        "together; the rest is left to the other apps on the account and to the network's jitter.",
        default="80",
        parse=_percent,
    )
    zoom_api_url: str = setting("Zoom REST API base URL.", default="https://api.zoom.us/v2", parse=_https_url)
    zoom_oauth_url: str = setting("Zoom OAuth token endpoint.", default="https://zoom.us/oauth/token", parse=_https_url)
    zoom_download_hosts: tuple[str, ...] = setting(
        "Hosts (and their subdomains) that recording downloads may be redirected to; any other host is refused.",
        default="zoom.us,zoomgov.com",
        parse=_domain_list,
    )
    zoom_sources: tuple[str, ...] = setting(
        "Comma-separated sources of the meetings archived: recordings (cloud recordings), archiving (Zoom's "
        "Meeting and Webinar Archiving, which Zoom Support enables), meetings (every past meeting, recorded or "
        "not, from Zoom's meeting reports); each needs its own Zoom scopes. A meeting several sources have is "
        "archived once, as one item that says which file came from where.",
        default=RECORDINGS,
        parse=_sources,
    )
    zoom_meetings_heavy_percent: int = setting(
        "Percent of the plan's daily quota of Heavy Zoom calls that listing past meetings (ZOOM_SOURCES with "
        "meetings) may use each UTC day; a listing that reaches it stops, and the next run goes on from there.",
        default="50",
        parse=_percent,
    )
    graph_tenant_id: str = setting("Microsoft Entra tenant ID of the organisation's Microsoft 365.")
    graph_client_id: str = setting("Application (client) ID of the Entra app registration used for Graph.")
    graph_client_secret: str = setting("Client secret of the Entra app registration.", secret=True)
    graph_authority_url: str = setting(
        "Microsoft Entra sign-in host.", default="https://login.microsoftonline.com", parse=_https_url
    )
    graph_api_url: str = setting(
        "Microsoft Graph base URL.", default="https://graph.microsoft.com/v1.0", parse=_https_url
    )
    organization_domains: tuple[str, ...] = setting(
        "Comma-separated email domains of the organisation: participants in them are internal and get a copy; "
        "everyone else is external and is never mapped to a mailbox.",
        parse=_domain_list,
    )
    mailbox_folder: str = setting(
        "Name of the folder under Inbox that receives the meeting items.",
        default="Zoom Meetings",
        parse=_folder_name,
    )
    mailbox_recipients: str = setting(
        "Who gets a copy of each meeting: participants (the host and every internal participant) or host (the "
        "host only).",
        default="participants",
        parse=_one_of("participants", "host"),
    )
    default_mailbox: str = setting(
        "Microsoft 365 address that receives the items of internal participants who could not be mapped to a "
        "mailbox (no such user, or no mailbox); empty: nobody does.",
        default="",
        parse=_optional_address,
    )
    user_mapping_file: str = setting(
        "CSV file (header zoom_user,microsoft_365_address) mapping a Zoom email or Zoom user id to a Microsoft 365 "
        "address, applied before automatic matching; a path relative to the app's folder, deployed with the app. "
        "Empty: automatic matching only.",
        default="",
        parse=_app_file,
    )
    max_message_size_mb: int = setting(
        "Largest message (MB) the target mailboxes accept, counted as Exchange does (1 MB = 1,048,576 bytes) and "
        "including the base64 growth of attachments; files that do not fit are stored in the 'recordings' "
        "container and linked from the message.",
        default="35",
        parse=_message_size,
    )
    zoom_webhook_secret_token: str = setting(
        "Secret Token of the Zoom app's event subscription: it signs the webhook notifications the app receives.",
        secret=True,
    )
    reconcile_schedule: str = setting(
        "When the completeness report runs (NCRONTAB, 6 fields, UTC).", default="0 0 6 * * *", parse=_ncrontab
    )
    reconcile_days: int = setting(
        "How many past days each completeness report run compares again with Zoom, ending yesterday; older days "
        "are compared again while they still have gaps.",
        default="7",
        parse=_positive_int,
    )
    sweep_schedule: str = setting(
        "When the sweep runs (NCRONTAB, 6 fields, UTC): it drives again, with back-off, the work that stopped short "
        "(poison queues, the completeness reports' gaps), then marks it failed for a person.",
        default="0 */5 * * * *",
        parse=_ncrontab,
    )
    workbook_url: str = setting(
        "Azure portal URL of the operators' workbook, which the status page links to; set by the deployment "
        "(empty: no link).",
        default="",
        parse=_optional_https_url,
    )
    tls_ca_file: str = setting(
        "Path of an extra CA certificate to trust for Zoom and Graph (the local emulators); empty in Azure.",
        default="",
        parse=_app_file,
    )


def local_settings(path: Path) -> dict[str, str]:
    """The `Values` of a local.settings.json, as `func start` reads them; empty when the file is absent. A file
    that is not JSON, or whose `Values` is not an object, raises a SettingsError naming the file."""
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8-sig")).get("Values", {})
        if not isinstance(values, dict):
            raise ValueError("its Values must be an object of setting names and values")
    except (ValueError, AttributeError) as error:
        raise SettingsError([f"{path} is not a local settings file: {error}"]) from None
    return {name: str(value) for name, value in values.items()}


def setting_specs() -> list[tuple[str, dict[str, Any]]]:
    """(app setting name, metadata) for every setting, in declaration order."""
    return [(_env_name(f), dict(f.metadata)) for f in fields(Settings)]


def _env_name(f: Any) -> str:
    return f.metadata["env"] or f.name.upper()


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and check every setting; raise `SettingsError` naming each bad one."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in fields(Settings):
        name = _env_name(f)
        meta = f.metadata
        try:
            if f.name == "storage":
                values[f.name] = _storage_connection(environ)
                continue
            raw = environ.get(name, "").strip()
            if raw.startswith(KEY_VAULT_REFERENCE):
                raise ValueError(
                    "is a Key Vault reference that Azure did not resolve; check that the app's identity has "
                    "the 'Key Vault Secrets User' role and that the secret exists"
                )
            if not raw:
                if meta["default"] is None:
                    raise ValueError("is required but not set")
                raw = meta["default"]
            values[f.name] = meta["parse"](raw)
        except ValueError as error:
            problems.append(_describe(name, environ.get(name, ""), error, secret=meta["secret"]))
    problems += _unknown(environ)
    if problems:
        raise SettingsError(problems)
    return Settings(**values)


def _unknown(environ: Mapping[str, str]) -> list[str]:
    """Settings whose names look like the archiver's but are none of them: a misspelt name would otherwise be
    ignored in silence, and its setting left at its default (every participant instead of the host only...)."""
    known = [_env_name(f) for f in fields(Settings)]
    found = []
    for name in sorted(environ):
        if name in known or name.startswith("AzureWebJobsStorage"):
            continue
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.85)
        if close or name.upper().startswith(OUR_PREFIXES):
            hint = f" (did you mean {close[0]}?)" if close else ""
            found.append(f"{name} is not a setting the archiver reads{hint}; rename or remove it")
    return found


def _describe(name: str, raw: str, error: ValueError, *, secret: bool) -> str:
    reason = str(error)
    text = f"{name} {reason}" if reason.startswith(("is ", "must ")) else f"{name} is invalid: {reason}"
    if raw and not secret and not raw.startswith(KEY_VAULT_REFERENCE) and "required" not in reason:
        text += f" (got {raw!r})"
    return text


def _storage_connection(environ: Mapping[str, str]) -> StorageConnection:
    prefix = "AzureWebJobsStorage"
    connection_string = environ.get(prefix, "").strip()
    if connection_string.startswith(KEY_VAULT_REFERENCE):
        raise ValueError("is a Key Vault reference that Azure did not resolve")
    if connection_string:
        parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
        if connection_string != "UseDevelopmentStorage=true" and not (
            "AccountName" in parts or "BlobEndpoint" in parts
        ):
            raise ValueError("is not a storage connection string (no AccountName or BlobEndpoint)")
        return StorageConnection(connection_string=connection_string)
    account = environ.get(f"{prefix}__accountName", "").strip()
    urls = {
        kind: environ.get(f"{prefix}__{kind}ServiceUri", "").strip()
        or (f"https://{account}.{kind}.core.windows.net" if account else "")
        for kind in ("blob", "queue", "table")
    }
    if not all(urls.values()):
        raise ValueError(
            "is required: set a connection string, or AzureWebJobsStorage__accountName (or the "
            "__blobServiceUri, __queueServiceUri and __tableServiceUri settings) for managed identity"
        )
    for kind, url in urls.items():
        if urlsplit(url).scheme != "https":
            raise ValueError(f"__{kind}ServiceUri must be an https:// URL")
    return StorageConnection(
        blob_url=urls["blob"],
        queue_url=urls["queue"],
        table_url=urls["table"],
        client_id=environ.get(f"{prefix}__clientId", "").strip(),
    )
