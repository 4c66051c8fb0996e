from pathlib import Path

import pytest

from pipeline.settings import ConfigError, Settings, load_settings, settings_from_mapping

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_settings_file_loads_and_names_files_beside_it() -> None:
    loaded = load_settings(ROOT / "config" / "settings.toml", env={})
    assert loaded.settings.database_url == "sqlite:///data/rss-ingest.db"
    assert loaded.resolve(loaded.settings.feeds_file) == ROOT / "config" / "feeds.toml"


def test_sections_are_flattened_and_env_overrides_win() -> None:
    table = {"http": {"total_timeout": 12, "user_agent": "me"}, "crawl": {"concurrency": 3}}
    env = {"RSS_INGEST_TOTAL_TIMEOUT": "2.5", "RSS_INGEST_DATABASE_URL": "postgresql://x/y"}
    settings = settings_from_mapping(table, env, "test")
    assert settings.total_timeout == 2.5
    assert settings.concurrency == 3
    assert settings.user_agent == "me"
    assert settings.database_url == "postgresql://x/y"


@pytest.mark.parametrize(
    ("table", "env", "message"),
    [
        ({"http": {"total_timout": 3}}, {}, "unknown setting 'total_timout'"),
        ({"concurrency": "many"}, {}, "concurrency must be int"),
        ({}, {"RSS_INGEST_CONCURRENCY": "lots"}, "environment RSS_INGEST_CONCURRENCY"),
        ({"concurrency": 0}, {}, "concurrency must be greater than 0"),
        ({"a": {"concurrency": 1}, "b": {"concurrency": 2}}, {}, "concurrency is set twice"),
        ({"log_level": "LOUD"}, {}, "log_level must be one of"),
    ],
)
def test_bad_settings_are_explained(
    table: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(table, env, "test")


def test_missing_named_file_is_an_error_missing_default_is_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    assert (
        load_settings(None, env={}).settings == Settings() or Path("config/settings.toml").exists()
    )


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("concurrency = = 3\n")
    with pytest.raises(ConfigError, match=r"settings\.toml: not valid TOML"):
        load_settings(path, env={})
