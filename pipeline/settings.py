"""Settings: config/settings.toml, overridden by RSS_INGEST_* environment variables.

The TOML file groups keys in sections for readability, but every key name is unique,
so an environment override is simply RSS_INGEST_<KEY> (e.g. RSS_INGEST_TOTAL_TIMEOUT=5).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "RSS_INGEST_"
DEFAULT_SETTINGS_PATH = Path("config/settings.toml")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(Exception):
    """A settings, feeds or rules file (or an environment override) is unusable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///data/rss-ingest.db"
    feeds_file: str = "feeds.toml"
    rules_file: str = "rules.toml"
    user_agent: str = "rss-ingest/0.1 (+https://github.com/rss-ingest/rss-ingest)"
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_body_bytes: int = 10_000_000
    max_redirects: int = 5
    concurrency: int = 32
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5
    max_retry_after: float = 86_400.0
    respect_robots_txt: bool = True
    allow_private_addresses: bool = False
    feed_concurrency: int = 128
    pages_per_feed: int = 4
    extract_workers: int = 0
    max_article_attempts: int = 3
    max_entries_per_feed: int = 500
    store_batch_size: int = 100
    boilerplate_min_articles: int = 3
    boilerplate_min_share: float = 0.3
    boilerplate_min_sample: int = 20
    near_duplicate_threshold: float = 0.5
    near_duplicate_window_days: float = 14.0
    near_duplicate_min_words: int = 50
    min_poll_interval: float = 300.0
    max_poll_interval: float = 86_400.0
    default_poll_interval: float = 3_600.0
    max_feed_failures: int = 10
    tick_seconds: float = 10.0
    feed_lease_seconds: float = 900.0
    worker_name: str = ""
    shutdown_grace_seconds: float = 20.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    log_level: str = "INFO"
    log_format: str = "text"

    def __post_init__(self) -> None:
        positive = (
            "connect_timeout",
            "total_timeout",
            "max_body_bytes",
            "concurrency",
            "per_host_concurrency",
            "feed_concurrency",
            "pages_per_feed",
            "max_article_attempts",
            "max_entries_per_feed",
            "store_batch_size",
            "near_duplicate_window_days",
            "feed_lease_seconds",
            "near_duplicate_min_words",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"setting {name} must be greater than 0")
        if not 0.0 < self.near_duplicate_threshold <= 1.0:
            raise ConfigError("setting near_duplicate_threshold must be above 0 and at most 1")
        if self.log_format not in ("text", "json"):
            raise ConfigError("setting log_format must be text or json")
        if self.min_poll_interval > self.max_poll_interval:
            raise ConfigError("setting min_poll_interval must not exceed max_poll_interval")
        for name in ("max_redirects", "extract_workers", "per_host_delay", "metrics_port"):
            if getattr(self, name) < 0:
                raise ConfigError(f"setting {name} must not be negative")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"setting log_level must be one of {', '.join(LOG_LEVELS)}")


def _field_types() -> dict[str, type]:
    return {f.name: type(f.default) for f in dataclasses.fields(Settings)}


def _coerce(name: str, value: Any, origin: str) -> Any:
    wanted = _field_types()[name]
    if isinstance(value, str) and wanted is bool:
        flag = value.strip().lower()
        if flag not in TRUE_WORDS + FALSE_WORDS:
            raise ConfigError(f"{origin}: {name} must be true or false, got {value!r}")
        return flag in TRUE_WORDS
    if isinstance(value, str) and wanted is not str:
        try:
            return wanted(value)
        except ValueError:
            raise ConfigError(
                f"{origin}: {name} must be {wanted.__name__}, got {value!r}"
            ) from None
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not wanted:
        raise ConfigError(
            f"{origin}: {name} must be {wanted.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _flatten(table: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Sections are only for reading; lift their keys to one flat namespace."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        items = value.items() if isinstance(value, dict) else [(key, value)]
        for name, item in items:
            if name in flat:
                raise ConfigError(f"{origin}: {name} is set twice")
            flat[name] = item
    return flat


def settings_from_mapping(
    table: Mapping[str, Any], env: Mapping[str, str], origin: str
) -> Settings:
    """Pure: build Settings from a parsed TOML table and an environment."""
    known = _field_types()
    values: dict[str, Any] = {}
    for name, value in _flatten(table, origin).items():
        if name not in known:
            raise ConfigError(f"{origin}: unknown setting {name!r}")
        values[name] = _coerce(name, value, origin)
    for env_name, raw in env.items():
        if not env_name.startswith(ENV_PREFIX):
            continue
        name = env_name[len(ENV_PREFIX) :].lower()
        if name in known:
            values[name] = _coerce(name, raw, f"environment {env_name}")
    return Settings(**values)


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    settings: Settings
    config_dir: Path
    from_file: bool
    """False when no settings file was found and the built-in defaults are in use."""

    def resolve(self, relative: str) -> Path:
        """Files named in settings are relative to the settings file's folder."""
        path = Path(relative)
        return path if path.is_absolute() else self.config_dir / path


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> LoadedSettings:
    """Read settings: a missing default file gives the defaults, a missing named one an error."""
    env = os.environ if env is None else env
    explicit = path is not None or "RSS_INGEST_CONFIG" in env
    chosen = path or Path(env.get("RSS_INGEST_CONFIG", DEFAULT_SETTINGS_PATH))
    table: dict[str, Any] = {}
    found = chosen.exists()
    if found:
        try:
            table = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{chosen}: not valid TOML: {error}") from None
    elif explicit:
        raise ConfigError(f"settings file {chosen} does not exist")
    settings = settings_from_mapping(table, env, str(chosen))
    return LoadedSettings(settings=settings, config_dir=chosen.parent, from_file=found)
