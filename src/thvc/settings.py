"""Configuration from ``thvc.toml`` and ``THVC_*`` environment variables.

Environment variables win over the file; the file is looked up at
``THVC_CONFIG`` or ``./thvc.toml``. Every other package receives a typed
:class:`Settings` object, never a global.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class SettingsError(Exception):
    """A setting is wrong; the message names it in one line."""


def _config_file() -> Path:
    return Path(os.environ.get("THVC_CONFIG", "thvc.toml"))


class Settings(BaseSettings):
    """All of ThVC's settings, validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="THVC_", extra="forbid", frozen=True)

    data_dir: Path = Path("./var")
    database_url: str = ""
    bind: str = "127.0.0.1:8080"
    base_url: str = ""
    master_key_file: Path | None = None
    # Seconds a verified Basic credential is remembered (keyed hash, in the database).
    auth_cache_seconds: int = Field(default=300, ge=0, le=86_400)
    # Web log-in sessions: ended after this long without a request, and after this long
    # in any case (BSI's IT-Grundschutz asks for both).
    session_idle_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=31 * 24)
    # Failed logins before delays start, and the longest delay.
    login_free_failures: int = Field(default=5, ge=1, le=1000)
    login_max_delay_seconds: int = Field(default=900, ge=1)
    versions_kept: int = Field(default=50, ge=0, le=10_000)
    trash_days: int = Field(default=30, ge=0)
    tenant_delete_grace_days: int = Field(default=30, ge=0)
    # Seconds an unfinished upload (chunked or tus) is kept after its last part arrived;
    # then the upload service's clean-up removes it (tus tells clients in Upload-Expires).
    upload_expiry_seconds: int = Field(default=86_400, ge=60)
    # Outgoing mail (guest invitations). Without a host, invitations are handed to the
    # inviter to pass on, and nothing is sent.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = "thvc@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Days a guest account lives unless the inviter says otherwise; an invitation link
    # works for invitation_days.
    guest_days: int = Field(default=90, ge=1, le=3650)
    invitation_days: int = Field(default=7, ge=1, le=90)
    # Threads that run requests' blocking work (database, disk, encryption). With
    # PostgreSQL each holds a connection while it works: allow this many and some more.
    # Few: every statement of a worker gives up the GIL and takes it back, and with 40
    # threads wanting it a PostgreSQL poll cost ~4 ms of CPU, half of it in the kernel
    # switching threads (docs/benchmarks.md §0); the work itself is mostly outside the
    # GIL or short, and 8 keep both cores of a small machine busy.
    worker_threads: int = Field(default=8, ge=2, le=1000)
    # Largest XML request body (PROPFIND, PROPPATCH, LOCK).
    max_xml_body: int = Field(default=1 << 20, ge=1024)
    segment_size: int = Field(default=1 << 20, ge=4096, le=16 << 20)
    workers: int = Field(default=1, ge=1, le=64)
    # How long an idle client connection stays open. Longer than the sync clients' poll
    # (Nextcloud's and ownCloud's: 30 s), so that a poll finds its connection still open
    # instead of opening a new one every time; nginx's default is 75 s as well.
    keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    log_level: str = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    @field_validator("bind")
    @classmethod
    def _bind_is_host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        if value.lower() not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("must be one of critical, error, warning, info, debug")
        return value.lower()

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        data_dir = self.data_dir.absolute()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'thvc.db'}")
        if self.master_key_file is None:
            object.__setattr__(self, "master_key_file", data_dir / "keys" / "master.key")
        if not self.base_url:
            object.__setattr__(self, "base_url", f"http://{self.bind}")
        return self

    @property
    def host(self) -> str:
        return self.bind.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.bind.rpartition(":")[2])

    @property
    def key_file(self) -> Path:
        assert self.master_key_file is not None
        return self.master_key_file

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Load settings or raise :class:`SettingsError` naming the bad one."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        env = f"THVC_{name.upper()}" if name != "settings" else name
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {env}: {msg}") from None
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read {_config_file()}: {exc}") from None
