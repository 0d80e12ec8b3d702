"""Settings: defaults < ``chapterhouse.toml`` in the data dir < ``CHAPTERHOUSE_*`` environment.

Built once (by the CLI or a test) and passed explicitly; nothing reads configuration globally.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from node.runtime.i18n import SHIPPED
from protocol.errors import ChapterhouseError, MalformedDocument
from protocol.ids import origin_of

EVENT_LOOPS = frozenset({"asyncio", "uvloop"})
SMTP_SECURITY = frozenset({"starttls", "tls", "none"})
MAX_REMINDER_MINUTES = 60 * 24 * 60  # sixty days
CONFIG_FILE = "chapterhouse.toml"
ENV_PREFIX = "CHAPTERHOUSE_"
DEFAULT_PORT = 8080


class ConfigError(ChapterhouseError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    base_url: str
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT  # load_settings: base_url's port when it names one
    allow_private_network: bool = False
    private_network_allowlist: str = ""  # "host:port,...": with allow_private_network, only these
    run_workers: bool = True
    signature_window_seconds: int = 3600
    max_body_bytes: int = 1024 * 1024
    fetch_max_bytes: int = 1024 * 1024
    fetch_timeout_seconds: float = 10.0
    delivery_timeout_seconds: float = 10.0
    delivery_concurrency: int = 16
    delivery_per_host: int = 2
    delivery_poll_seconds: float = 0.5
    delivery_lease_seconds: float = 60.0
    delivery_retry_base_seconds: float = 30.0
    delivery_retry_cap_seconds: float = 12 * 3600.0
    delivery_max_attempts: int = 22  # with the defaults: about a week of retries
    delivery_max_age_seconds: float = 8 * 24 * 3600.0
    domain_unavailable_after_seconds: float = 3 * 24 * 3600.0
    domain_probe_seconds: float = 3600.0
    rollup_interval_seconds: float = 60.0
    #: The language of pages, e-mails and CLI messages when neither the person's setting nor
    #: their browser names one this node ships (node/runtime/i18n.py: SHIPPED).
    default_language: str = "en"
    # A rollup naming more reports than this links to its sources in pages of this many
    # (each ~210 bytes inline: 1,000 keep it far below receivers' max_body_bytes).
    rollup_inline_sources: int = 1000
    # Joins/Leaves update followers' copies of a call at most once per call per this interval.
    participation_update_seconds: float = 60.0
    # Follow-ups of inbound activities (fetching an unknown call, a rollup's sources, ...).
    follow_up_concurrency: int = 8
    follow_up_per_host: int = 2
    follow_up_timeout_seconds: float = 120.0  # one follow-up's run at most (then: retry)
    follow_up_lease_seconds: float = 300.0  # must exceed the timeout
    follow_up_retry_base_seconds: float = 30.0
    follow_up_retry_cap_seconds: float = 6 * 3600.0
    follow_up_max_attempts: int = 12  # with the defaults: about a day of retries
    # A stored inbox item whose handler failed waits (backoff) before it is tried again.
    inbox_retry_base_seconds: float = 30.0
    inbox_retry_cap_seconds: float = 3600.0
    inbox_max_attempts: int = 8  # with the defaults: about an hour, then failed for good
    # Sent and dead deliveries, and handled inbox items, are purged after this many days (0:
    # never); inbox activity ids stay at least the signature window, for de-duplication.
    retention_days: int = 30
    # Inbox budgets. Before its signature is checked a request is charged only to its client
    # address; once verified, to its key and to the registrable domain of the key's owner.
    inbox_rate_per_ip: float = 50.0  # unverified requests a second one client address may...
    inbox_burst_per_ip: int = 100  # ...sustain after a burst of this many (0 rate: no limit)
    inbox_rate_per_domain: float = 100.0  # verified requests a second per registrable domain...
    inbox_burst_per_domain: int = 1000  # ...after a burst of this many
    inbox_rate_per_key: float = 50.0
    inbox_burst_per_key: int = 500
    api_rate_per_token: float = 20.0
    api_burst_per_token: int = 200
    # Sign-in: wrong passwords per account name (5 per 15 minutes), attempts per client address.
    signin_failures_per_account: int = 5
    signin_failure_window_seconds: float = 900.0
    signin_attempts_per_ip_per_minute: int = 20
    signin_hash_concurrency: int = 2  # password hashes at once (each ~0.1 s CPU, 64 MiB)
    # Behind a reverse proxy on this host (Caddy, nginx): count clients by the last
    # X-Forwarded-For address instead of the proxy's.
    trust_forwarded_for: bool = False
    invitation_days: int = 7  # how long a sign-up link stays valid
    authorized_fetch: bool = False  # require signed GETs for ActivityPub documents
    actor_cache_seconds: int = 24 * 3600
    key_cache_seconds: int = 300  # a remote key is re-read from the database after this long
    key_fetches_per_origin_per_minute: int = 30  # key fetches caused by inbox requests; 0: no cap
    # Processes that check relayed reports' proofs in batches; -1: cores - 1 (none on one core).
    proof_workers: int = -1
    node_name: str = ""  # what pages and NodeInfo call the node; empty: base_url's host
    # The maps' background tiles (an https URL with {z}, {x} and {y}); the pages' lists work
    # without them. Browsers fetch them from that host, so pages allow its images (CSP).
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© OpenStreetMap contributors"  # plain text, shown on the maps
    map_attribution_url: str = "https://www.openstreetmap.org/copyright"  # its link; "" for none
    # The directory (node/features/directory): nodes whose /directory we read, at most
    # directory_max_nodes, each at most once every directory_fetch_interval_seconds (an hour
    # at least), keeping at most directory_max_entries_per_node of its chapters and campaigns.
    directory_max_nodes: int = 1000
    directory_max_entries_per_node: int = 500
    directory_fetch_interval_seconds: float = 3600.0
    directory_poll_seconds: float = 60.0  # how often the worker looks for nodes due
    # Reminders before a call starts, in minutes (a chapter may set its own).
    reminder_offsets_minutes: tuple[int, ...] = (1440, 120)
    reminder_sweep_seconds: float = 30.0  # how often reminders due (and reports due) are sent
    # E-mail: with no smtp_host, notifications are in-app (and direct messages) only.
    smtp_host: str = ""
    smtp_port: int = 0  # 0: 465 with smtp_security "tls", else 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""  # empty: "noreply@" the base_url's host
    smtp_security: str = "starttls"  # starttls (when offered), tls, or none
    smtp_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    # "uvloop" (installed with the node): a faster event loop for serve/worker, ~2 MB more memory.
    event_loop: str = "asyncio"

    def __post_init__(self) -> None:
        try:
            origin = origin_of(self.base_url)
        except MalformedDocument as exc:
            raise ConfigError(f"base_url: {exc}") from exc
        if origin.scheme == "http" and not self.allow_private_network:
            raise ConfigError(
                "base_url: plain http:// is only allowed for local testing "
                "(set allow_private_network = true)"
            )
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'chapterhouse.db'}"
            )
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.node_name.strip():
            object.__setattr__(self, "node_name", origin.authority)
        if not 0 < self.port < 65536:
            raise ConfigError("port must be between 1 and 65535")
        if self.follow_up_concurrency < 1 or self.follow_up_per_host < 1:
            raise ConfigError("follow_up_concurrency and follow_up_per_host must be at least 1")
        if self.follow_up_lease_seconds <= self.follow_up_timeout_seconds:
            raise ConfigError("follow_up_lease_seconds must exceed follow_up_timeout_seconds")
        if self.participation_update_seconds < 0:
            raise ConfigError("participation_update_seconds must not be negative")
        if self.inbox_max_attempts < 1:
            raise ConfigError("inbox_max_attempts must be at least 1")
        if self.rollup_inline_sources < 1:
            raise ConfigError("rollup_inline_sources must be at least 1")
        if self.retention_days < 0:
            raise ConfigError("retention_days must not be negative (0: keep everything)")
        if min(self.signin_failures_per_account, self.signin_hash_concurrency) < 1:
            raise ConfigError(
                "signin_failures_per_account and signin_hash_concurrency must be >= 1"
            )
        if self.proof_workers < -1:
            raise ConfigError("proof_workers must be -1 (cores - 1), 0 (in-process) or more")
        if min(self.directory_max_nodes, self.directory_max_entries_per_node) < 0:
            raise ConfigError("directory_max_nodes and directory_max_entries_per_node must be >= 0")
        if self.directory_fetch_interval_seconds < 3600:
            raise ConfigError("directory_fetch_interval_seconds must be at least 3600 (an hour)")
        if self.invitation_days < 1:
            raise ConfigError("invitation_days must be at least 1")
        if self.smtp_security not in SMTP_SECURITY:
            raise ConfigError(f"smtp_security must be one of {', '.join(sorted(SMTP_SECURITY))}")
        if not 0 <= self.smtp_port < 65536:
            raise ConfigError("smtp_port must be between 0 and 65535")
        offsets = reminder_offsets(self.reminder_offsets_minutes)
        object.__setattr__(self, "reminder_offsets_minutes", offsets)
        if not self.smtp_from.strip():
            object.__setattr__(self, "smtp_from", f"noreply@{origin.host}")
        if self.default_language not in SHIPPED:
            raise ConfigError(f"default_language must be one of {', '.join(SHIPPED)}")
        if not _tile_url_ok(self.map_tile_url, self.allow_http):
            raise ConfigError("map_tile_url must be an https URL with {z}, {x} and {y}")
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(f"event_loop must be one of {', '.join(sorted(EVENT_LOOPS))}")

    @property
    def allow_http(self) -> bool:
        """Plain-http ids are accepted only where private networks are (local testing)."""
        return self.allow_private_network


def _tile_url_ok(url: str, allow_http: bool) -> bool:
    """A tile URL pages may load images from: https (http only for local testing), a host, and
    the three placeholders Leaflet fills in."""
    try:
        host = urlsplit(url).hostname
        scheme = urlsplit(url).scheme
    except ValueError:
        return False
    schemes = {"https", "http"} if allow_http else {"https"}
    return (
        scheme in schemes
        and bool(host)
        and all(p in url for p in ("{z}", "{x}", "{y}"))
        and not any(c in url for c in " '\";")
    )


def reminder_offsets(raw: object) -> tuple[int, ...]:
    """Reminder offsets in minutes: a list, or text like ``"1440,120"`` (empty: none), each
    from 1 minute to sixty days; returned distinct, largest (earliest reminder) first."""
    if isinstance(raw, str):
        items: list[object] = [p.strip() for p in raw.split(",") if p.strip()]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise ConfigError(f"reminder offsets: {raw!r} is not a list of minutes")
    minutes: set[int] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ConfigError(f"reminder offsets: {item!r} is not a whole number of minutes")
        try:
            value = int(item)
        except ValueError as exc:
            raise ConfigError(
                f"reminder offsets: {item!r} is not a whole number of minutes"
            ) from exc
        if not 1 <= value <= MAX_REMINDER_MINUTES:
            raise ConfigError(
                f"reminder offsets: {value} is not between 1 and {MAX_REMINDER_MINUTES} minutes"
            )
        minutes.add(value)
    return tuple(sorted(minutes, reverse=True))


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, raw: Any, target: Any) -> Any:
    kind = target if isinstance(target, type) else type(target)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _BOOL_TRUE:
                return True
            if text in _BOOL_FALSE:
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw)
        if kind is tuple:
            return reminder_offsets(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {raw!r} is not a valid {kind.__name__}") from exc


def load_settings(
    data_dir: Path, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read ``DIR/chapterhouse.toml``, overlay the environment, then explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = data_dir / CONFIG_FILE
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text("utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    fields = {f.name: f for f in dataclasses.fields(Settings) if f.name != "data_dir"}
    for name in fields:
        env_value = env.get(ENV_PREFIX + name.upper())
        if env_value is not None:
            values[name] = env_value
    if "database_url" not in values and env.get("DATABASE_URL"):
        values["database_url"] = env["DATABASE_URL"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}")
    if "base_url" not in values:
        raise ConfigError(
            f"base_url is not set (run `chapterhouse init` or set {ENV_PREFIX}BASE_URL)"
        )
    if "port" not in values:  # serve listens where base_url says, unless told otherwise
        values["port"] = _port_of(str(values["base_url"]))
    typed = {}
    for name, raw in values.items():
        default = fields[name].default
        typed[name] = _coerce(name, raw, default if default is not dataclasses.MISSING else str)
    return Settings(data_dir=data_dir, **typed)


def _port_of(base_url: str) -> int:
    """The port written in ``base_url`` (``http://127.0.0.1:8100``), else the default 8080 (a
    node behind a proxy: ``https://chapter.example`` is served by the proxy on 443)."""
    try:
        port = urlsplit(base_url).port
    except ValueError:
        port = None  # Settings refuses the base_url itself, with its own message
    return port or DEFAULT_PORT


def write_config(data_dir: Path, values: Mapping[str, Any]) -> Path:
    """Write a minimal ``chapterhouse.toml`` (only the settings given)."""
    lines = ["# Chapterhouse node settings; CHAPTERHOUSE_* environment variables override these."]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        elif isinstance(value, list | tuple):
            lines.append(f"{key} = [{', '.join(str(v) for v in value)}]")
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} = "{escaped}"')
    path = data_dir / CONFIG_FILE
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
