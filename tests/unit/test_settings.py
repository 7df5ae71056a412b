"""Settings from thvc.toml and THVC_* variables; one clear line for a wrong one (§2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from thvc.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No THVC_* from the outside, a config file path that does not exist yet, cwd in tmp."""
    for name in list(os.environ):
        if name.startswith("THVC_"):
            monkeypatch.delenv(name)
    config = tmp_path / "thvc.toml"
    monkeypatch.setenv("THVC_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return config


def test_defaults(tmp_path: Path) -> None:
    s = load_settings()
    assert s.data_dir == tmp_path / "var"
    assert s.data_dir.is_absolute()
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'thvc.db'}"
    assert s.key_file == tmp_path / "var" / "keys" / "master.key"
    assert s.bind == "127.0.0.1:8080"
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.base_url == "http://127.0.0.1:8080"
    assert s.blob_dir == tmp_path / "var" / "blobs"
    assert s.is_sqlite
    # Sync clients poll every 30 s: their connection must outlive the pause.
    assert s.keep_alive_seconds > 30


def test_defaults_follow_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("THVC_DATA_DIR", str(tmp_path / "elsewhere"))
    s = load_settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'thvc.db'}"
    assert s.key_file == tmp_path / "elsewhere" / "keys" / "master.key"


def test_a_relative_data_dir_is_made_absolute(tmp_path: Path) -> None:
    assert load_settings(data_dir=Path("rel")).data_dir == tmp_path / "rel"


def test_the_toml_file_is_read(clean_env: Path, tmp_path: Path) -> None:
    clean_env.write_text(
        f'data_dir = "{tmp_path / "from-toml"}"\n'
        'bind = "0.0.0.0:9000"\n'
        "versions_kept = 7\n"
        'base_url = "https://cloud.example/"\n'
    )
    s = load_settings()
    assert s.data_dir == tmp_path / "from-toml"
    assert s.bind == "0.0.0.0:9000"
    assert s.versions_kept == 7
    assert s.base_url == "https://cloud.example"  # trailing slash dropped
    assert s.key_file == tmp_path / "from-toml" / "keys" / "master.key"


def test_the_environment_wins_over_the_toml_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env.write_text('bind = "0.0.0.0:9000"\nversions_kept = 7\ntrash_days = 3\n')
    monkeypatch.setenv("THVC_BIND", "127.0.0.1:9100")
    monkeypatch.setenv("THVC_VERSIONS_KEPT", "9")
    s = load_settings()
    assert (s.bind, s.versions_kept, s.trash_days) == ("127.0.0.1:9100", 9, 3)


def test_explicit_arguments_win_over_both(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text('bind = "0.0.0.0:9000"\n')
    monkeypatch.setenv("THVC_BIND", "127.0.0.1:9100")
    assert load_settings(bind="127.0.0.1:9200").bind == "127.0.0.1:9200"


def test_a_postgresql_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THVC_DATABASE_URL", "postgresql+psycopg://u@/thvc?host=/run/pg")
    s = load_settings()
    assert s.database_url.startswith("postgresql+psycopg://")
    assert not s.is_sqlite


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("THVC_BIND", "localhost"),
        ("THVC_BIND", "127.0.0.1:99999"),
        ("THVC_BIND", ":8080"),
        ("THVC_DATABASE_URL", "mysql://x"),
        ("THVC_BASE_URL", "ftp://x"),
        ("THVC_LOG_LEVEL", "chatty"),
        ("THVC_VERSIONS_KEPT", "-1"),
        ("THVC_VERSIONS_KEPT", "many"),
        ("THVC_AUTH_CACHE_SECONDS", "100000"),
        ("THVC_SEGMENT_SIZE", "1000"),
        ("THVC_MAX_XML_BODY", "10"),
        ("THVC_WORKERS", "0"),
        ("THVC_LOGIN_FREE_FAILURES", "0"),
    ],
)
def test_a_wrong_environment_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert env in message
    assert "\n" not in message


def test_a_wrong_toml_value_names_the_setting(clean_env: Path) -> None:
    clean_env.write_text('bind = "nonsense"\n')
    with pytest.raises(SettingsError, match="THVC_BIND"):
        load_settings()


def test_an_unknown_toml_key_is_refused(clean_env: Path) -> None:
    clean_env.write_text('bnid = "127.0.0.1:8080"\n')
    with pytest.raises(SettingsError, match=r"(?i)bnid"):
        load_settings()


def test_a_broken_toml_file_is_reported(clean_env: Path) -> None:
    clean_env.write_text("this is = = not toml\n")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(clean_env) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_missing_toml_file_is_no_error(clean_env: Path) -> None:
    assert not clean_env.exists()
    load_settings()


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        s.bind = "127.0.0.1:1"  # type: ignore[misc]


def test_settings_object_is_what_load_settings_builds(tmp_path: Path) -> None:
    assert isinstance(load_settings(), Settings)
