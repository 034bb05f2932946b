"""One Settings object, read from LABELGRAPH_* environment variables."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEFAULT_DATA_DIR = "var"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR}/labelgraph.db"
SECRET_FILE = "secret_key"  # noqa: S105  (a file name)
MIN_SECRET_CHARS = 32
# scheme://host[:port], as a browser sends it in Origin: no path, no trailing slash.
ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
SOURCE_ROOT = Path(__file__).resolve().parent.parent
# Where the set-up (`make frontend`: npm ci in frontend/) puts GraphiQL's browser files.
DEFAULT_GRAPHIQL_ASSETS = SOURCE_ROOT / "frontend" / "node_modules"
# The migrations' Alembic configuration (its script_location is the migrations/ folder beside it).
DEFAULT_ALEMBIC_CONFIG = SOURCE_ROOT / "alembic.ini"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LABELGRAPH_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Migrations (and `labelgraph db grant-server-role`) connect as the schema's owner; the
    # server may then run as a role with only the grants it needs. Unset: database_url.
    migration_database_url: str | None = field(default=None, repr=False)
    # PostgreSQL: the role the server connects as, granted its least privileges after each migrate.
    server_role: str | None = None
    # HS256 signing key for access tokens; a random one per process when unset outside production.
    # (Settings.from_env keeps one in the data folder instead, so restarts keep tokens valid.)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    # Key of the content hashes of imported items (HMAC-SHA256 of the raw data): its own setting,
    # else derived from secret_key (HKDF), which then must not change or hashes stop matching.
    content_hash_key: str = field(default="", repr=False)
    # HMAC-SHA256 key of audit checkpoints; unset, one derived from secret_key (see audit_key_bytes).
    audit_key: str | None = field(default=None, repr=False)
    issuer: str = "labelgraph"
    audience: str = "labelgraph-api"
    token_lifetime_s: int = 900
    # Refresh tokens (password grant only): each one is good for one exchange, until it expires.
    refresh_token_lifetime_s: int = 30 * 24 * 3600
    # Browser origins allowed to call the API cross-origin; none means no CORS headers at all.
    cors_origins: tuple[str, ...] = ()
    debug: bool = False
    production: bool = False
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    max_import_items: int = 10_000
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    max_body_bytes: int = 32 * 1024 * 1024
    # Hosts for GraphiQL, served only outside production.
    graphiql: bool = True
    graphiql_assets: Path = DEFAULT_GRAPHIQL_ASSETS
    # The checkout's alembic.ini; an installed (non-editable) package has no migrations of its
    # own, so the container image points this at the copy it keeps beside the package.
    alembic_config: Path = DEFAULT_ALEMBIC_CONFIG
    # The background jobs (the consent Sweeper, the Retrainer and, with events_dispatch, the events
    # Dispatcher) in this process. On by default, so one process is a whole server; off in each of
    # several server processes, with one `labelgraph worker` running them instead (compose.yaml).
    background: bool = True
    # Access history (app/access/). Off only to measure what it costs; production keeps it on.
    access_history: bool = True
    # Seconds between the server's sweeps of lapsed consent (app/consent/lapse.py); 0: claims and the CLI only.
    consent_sweep_s: float = 60.0
    # Seconds between the server's looks for projects due a retrain (app/automation/training.py); 0: the CLI only.
    retrain_poll_s: float = 30.0
    # Access tokens: ES256 with keys in the database, published at /.well-known/jwks.json; HS256
    # (the secret key) only for one development process, never in production.
    token_algorithm: str = "ES256"  # noqa: S105  (an algorithm name, not a secret)
    # Webhooks (app/events/). The key webhook signing secrets are derived from (HKDF with each
    # webhook's salt); unset, one derived from secret_key, which then must not change.
    webhook_key: str | None = field(default=None, repr=False)
    # Networks a webhook may reach although they are not public (loopback, private, link-local,
    # ...): CIDRs, none by default. Tests list 127.0.0.0/8 to reach a local receiver.
    webhook_allowed_networks: tuple[str, ...] = ()
    webhook_max_attempts: int = 12  # per round; a redeliver starts a new round
    webhook_backoff_s: float = 30.0  # the first retry's delay; it doubles (with jitter) up to the cap
    webhook_backoff_max_s: float = 6 * 3600.0
    webhook_timeout_s: float = 10.0  # a whole request; connecting gets half of it
    # The in-process dispatcher (an asyncio task). Off: deliveries wait for `labelgraph events
    # dispatch` (a separate process, or a test calling it).
    events_dispatch: bool = True
    # GET /metrics: at most this many projects in the per-project queue figures (app/metrics/queue.py).
    metrics_max_projects: int = 100
    # How often the dispatcher and the subscription poller look at the outbox when nothing in
    # this process woke them (changes committed by other processes).
    events_poll_s: float = 1.0
    # Password policy (app/auth/password_policy.py): length, and zxcvbn's score 0-4 (0: off).
    min_password_length: int = 12
    min_password_score: int = 3
    # How long an invitation link and an admin-issued password reset link work.
    invite_lifetime_s: int = 7 * 24 * 3600
    password_reset_lifetime_s: int = 24 * 3600
    # Sign-in throttling (app/auth/throttle.py): failures allowed per username and per client
    # address within the window before each further one locks the key for backoff seconds,
    # doubling up to the cap.
    login_failures_per_username: int = 5
    login_failures_per_address: int = 50
    login_failure_window_s: int = 900
    login_backoff_s: int = 1
    login_backoff_max_s: int = 900
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For names the client; none: the peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Single sign-on (app/sso/). Networks identity providers may be reached on although they are
    # not public (the webhooks' address policy; tests list loopback for their in-suite provider).
    oidc_allowed_networks: tuple[str, ...] = ()
    # http:// issuers (tests, a provider on the same host); https only otherwise.
    oidc_allow_http: bool = False
    # This server's public base URL, for the callback address sent to providers; unset: the
    # request's own (its Host header): set it in production.
    oidc_redirect_base: str | None = None
    oidc_login_lifetime_s: int = 600  # from /login to /callback
    # How long a sign-in through a provider lasts, refreshes included, before the provider is asked again.
    oidc_session_lifetime_s: int = 12 * 3600
    oidc_timeout_s: float = 10.0  # a whole request to a provider; connecting gets half of it

    @classmethod
    def from_env(cls) -> Settings:
        production = _env_bool("PRODUCTION", False)
        secret = os.environ.get("LABELGRAPH_SECRET_KEY")
        if production and not secret:
            raise RuntimeError("LABELGRAPH_SECRET_KEY must be set when LABELGRAPH_PRODUCTION is on")
        data_dir = Path(_env("DATA_DIR", DEFAULT_DATA_DIR))
        defaults = cls()
        return cls(
            database_url=_env("DATABASE_URL", f"sqlite+aiosqlite:///{data_dir}/labelgraph.db"),
            migration_database_url=os.environ.get("LABELGRAPH_MIGRATION_DATABASE_URL") or None,
            audit_key=os.environ.get("LABELGRAPH_AUDIT_KEY") or None,
            server_role=os.environ.get("LABELGRAPH_SERVER_ROLE") or None,
            secret_key=secret or persistent_secret(data_dir),
            content_hash_key=os.environ.get("LABELGRAPH_CONTENT_HASH_KEY", ""),
            issuer=_env("ISSUER", defaults.issuer),
            audience=_env("AUDIENCE", defaults.audience),
            token_lifetime_s=_env_int("TOKEN_LIFETIME_S", defaults.token_lifetime_s),
            refresh_token_lifetime_s=_env_int("REFRESH_TOKEN_LIFETIME_S", defaults.refresh_token_lifetime_s),
            cors_origins=cors_origins(_env("CORS_ORIGINS", "")),
            debug=_env_bool("DEBUG", False),
            production=production,
            argon2_time_cost=_env_int("ARGON2_TIME_COST", defaults.argon2_time_cost),
            argon2_memory_kib=_env_int("ARGON2_MEMORY_KIB", defaults.argon2_memory_kib),
            max_import_items=_env_int("MAX_IMPORT_ITEMS", defaults.max_import_items),
            max_body_bytes=_env_int("MAX_BODY_BYTES", defaults.max_body_bytes),
            graphiql=not production,
            graphiql_assets=Path(_env("GRAPHIQL_ASSETS", str(DEFAULT_GRAPHIQL_ASSETS))),
            alembic_config=Path(_env("ALEMBIC_CONFIG", str(DEFAULT_ALEMBIC_CONFIG))),
            background=_env_bool("BACKGROUND", defaults.background),
            access_history=production or _env_bool("ACCESS_HISTORY", True),
            consent_sweep_s=_env_int("CONSENT_SWEEP_S", int(defaults.consent_sweep_s)),
            retrain_poll_s=_env_int("RETRAIN_POLL_S", int(defaults.retrain_poll_s)),
            token_algorithm=_token_algorithm(production),
            webhook_key=os.environ.get("LABELGRAPH_WEBHOOK_KEY") or None,
            webhook_allowed_networks=allowed_networks(_env("WEBHOOK_ALLOWED_NETWORKS", "")),
            webhook_max_attempts=_env_int("WEBHOOK_MAX_ATTEMPTS", defaults.webhook_max_attempts),
            webhook_backoff_s=float(_env("WEBHOOK_BACKOFF_S", str(defaults.webhook_backoff_s))),
            webhook_backoff_max_s=float(_env("WEBHOOK_BACKOFF_MAX_S", str(defaults.webhook_backoff_max_s))),
            webhook_timeout_s=float(_env("WEBHOOK_TIMEOUT_S", str(defaults.webhook_timeout_s))),
            events_dispatch=_env_bool("EVENTS_DISPATCH", True),
            metrics_max_projects=_env_int("METRICS_MAX_PROJECTS", defaults.metrics_max_projects),
            events_poll_s=float(_env("EVENTS_POLL_S", str(defaults.events_poll_s))),
            min_password_length=_env_int("MIN_PASSWORD_LENGTH", defaults.min_password_length),
            min_password_score=_env_int("MIN_PASSWORD_SCORE", defaults.min_password_score),
            invite_lifetime_s=_env_int("INVITE_LIFETIME_S", defaults.invite_lifetime_s),
            password_reset_lifetime_s=_env_int("PASSWORD_RESET_LIFETIME_S", defaults.password_reset_lifetime_s),
            login_failures_per_username=_env_int("LOGIN_FAILURES_PER_USERNAME", defaults.login_failures_per_username),
            login_failures_per_address=_env_int("LOGIN_FAILURES_PER_ADDRESS", defaults.login_failures_per_address),
            login_failure_window_s=_env_int("LOGIN_FAILURE_WINDOW_S", defaults.login_failure_window_s),
            login_backoff_s=_env_int("LOGIN_BACKOFF_S", defaults.login_backoff_s),
            login_backoff_max_s=_env_int("LOGIN_BACKOFF_MAX_S", defaults.login_backoff_max_s),
            trusted_proxies=trusted_proxies(_env("TRUSTED_PROXIES", "")),
            oidc_allowed_networks=allowed_networks(_env("OIDC_ALLOWED_NETWORKS", "")),
            oidc_allow_http=not production and _env_bool("OIDC_ALLOW_HTTP", False),
            oidc_redirect_base=os.environ.get("LABELGRAPH_OIDC_REDIRECT_BASE") or None,
            oidc_login_lifetime_s=_env_int("OIDC_LOGIN_LIFETIME_S", defaults.oidc_login_lifetime_s),
            oidc_session_lifetime_s=_env_int("OIDC_SESSION_LIFETIME_S", defaults.oidc_session_lifetime_s),
            oidc_timeout_s=float(_env("OIDC_TIMEOUT_S", str(defaults.oidc_timeout_s))),
        )

    def hash_key(self) -> bytes:
        """The content hash key: LABELGRAPH_CONTENT_HASH_KEY, else HKDF-SHA256 of the secret key."""
        if self.content_hash_key:
            return self.content_hash_key.encode()
        return _derived_key(self.secret_key)

    @property
    def migration_url(self) -> str:
        """Where migrations run: the owner's URL when one is set, else the server's."""
        return self.migration_database_url or self.database_url

    def audit_key_bytes(self) -> bytes:
        """The key audit checkpoints are signed with: LABELGRAPH_AUDIT_KEY, else one derived from
        the token key (so rotating that key makes older checkpoints unverifiable: set this one)."""
        if self.audit_key:
            return self.audit_key.encode()
        return hmac.new(self.secret_key.encode(), b"labelgraph audit checkpoint key/1", hashlib.sha256).digest()

    def webhook_key_bytes(self) -> bytes:
        """The key webhook signing secrets are derived from: LABELGRAPH_WEBHOOK_KEY, else HKDF-SHA256
        of the token key (so rotating that key changes every webhook's secret: set this one)."""
        if self.webhook_key:
            return self.webhook_key.encode()
        kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labelgraph webhook secrets v1")
        return kdf.derive(self.secret_key.encode())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The file behind a sqlite URL, so the CLI can create its folder."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return None if path in {"", ":memory:"} else Path(path)


@functools.lru_cache(maxsize=4)
def _derived_key(secret_key: str) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labelgraph content hash v1")
    return kdf.derive(secret_key.encode())


def _token_algorithm(production: bool) -> str:
    algorithm = _env("TOKEN_ALGORITHM", "ES256").upper()
    if algorithm not in {"ES256", "HS256"}:
        raise RuntimeError(f"LABELGRAPH_TOKEN_ALGORITHM: {algorithm!r} is not ES256 or HS256")
    if algorithm == "HS256" and production:
        raise RuntimeError("LABELGRAPH_TOKEN_ALGORITHM=HS256 is for one development process; production signs ES256")
    return algorithm


def cors_origins(value: str) -> tuple[str, ...]:
    """LABELGRAPH_CORS_ORIGINS: comma-separated origins, or `*` for any."""
    origins = tuple(part.strip() for part in value.split(",") if part.strip())
    bad = [o for o in origins if o != "*" and not ORIGIN.match(o)]
    if bad:
        raise RuntimeError(
            f"LABELGRAPH_CORS_ORIGINS: {', '.join(map(repr, bad))} is not an origin; "
            "write scheme://host[:port] with no path or trailing slash, e.g. https://label.example.com"
        )
    return origins


def allowed_networks(value: str) -> tuple[str, ...]:
    """LABELGRAPH_WEBHOOK_ALLOWED_NETWORKS: comma-separated CIDRs (127.0.0.0/8, ::1/128, 10.20.0.0/16)."""
    return _networks(value, "LABELGRAPH_WEBHOOK_ALLOWED_NETWORKS", "is not a network; write CIDRs such as 127.0.0.0/8")


def trusted_proxies(value: str) -> tuple[str, ...]:
    """LABELGRAPH_TRUSTED_PROXIES: comma-separated addresses or CIDR networks (10.0.0.0/8)."""
    return _networks(value, "LABELGRAPH_TRUSTED_PROXIES", "is not an address or network, e.g. 10.0.0.0/8")


def _networks(value: str, variable: str, problem: str) -> tuple[str, ...]:
    networks = tuple(part.strip() for part in value.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise RuntimeError(f"{variable}: {network!r} {problem}") from None
    return networks


def persistent_secret(data_dir: Path) -> str:
    """The development signing key kept in data_dir/secret_key (mode 0600), made on first use.

    Tokens then survive a restart. The key is written to a private temporary file and linked
    into place, so two processes starting at once agree on one key and never read half of it.
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink()
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RuntimeError(f"{path} is readable by others (mode {mode & 0o777:o}); run: chmod 600 {path}")
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_CHARS:
        raise RuntimeError(f"{path} does not hold a usable key; delete it to have a new one made")
    return key
