"""One Settings object, read from LABELGRAPH_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/labelgraph.db"
# Where the set-up (`make frontend`: npm ci in frontend/) puts GraphiQL's browser files.
DEFAULT_GRAPHIQL_ASSETS = Path(__file__).resolve().parent.parent / "frontend" / "node_modules"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LABELGRAPH_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # HS256 signing key for access tokens; a random one per process when unset outside production.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    issuer: str = "labelgraph"
    audience: str = "labelgraph-api"
    token_lifetime_s: int = 900
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

    @classmethod
    def from_env(cls) -> Settings:
        production = _env_bool("PRODUCTION", False)
        secret = os.environ.get("LABELGRAPH_SECRET_KEY")
        if production and not secret:
            raise RuntimeError("LABELGRAPH_SECRET_KEY must be set when LABELGRAPH_PRODUCTION is on")
        defaults = cls()
        return cls(
            database_url=_env("DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=secret or defaults.secret_key,
            issuer=_env("ISSUER", defaults.issuer),
            audience=_env("AUDIENCE", defaults.audience),
            token_lifetime_s=_env_int("TOKEN_LIFETIME_S", defaults.token_lifetime_s),
            debug=_env_bool("DEBUG", False),
            production=production,
            argon2_time_cost=_env_int("ARGON2_TIME_COST", defaults.argon2_time_cost),
            argon2_memory_kib=_env_int("ARGON2_MEMORY_KIB", defaults.argon2_memory_kib),
            max_import_items=_env_int("MAX_IMPORT_ITEMS", defaults.max_import_items),
            max_body_bytes=_env_int("MAX_BODY_BYTES", defaults.max_body_bytes),
            graphiql=not production,
            graphiql_assets=Path(_env("GRAPHIQL_ASSETS", str(DEFAULT_GRAPHIQL_ASSETS))),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The file behind a sqlite URL, so the CLI can create its folder."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return None if path in {"", ":memory:"} else Path(path)
