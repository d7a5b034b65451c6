"""Application settings, read from the environment (and `.env`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob the service has; see README "Configuration"."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: Path = BASE_DIR / "data"
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Cookies get the Secure flag when the service is reached over HTTPS (behind a proxy).
    secure_cookies: bool = False
    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lock_minutes: int = Field(default=15, ge=1)
    max_upload_mb: int = Field(default=10, ge=1)
    log_level: str = "INFO"
    # SQLite durability (WAL mode). FULL: every commit is fsynced, so an acknowledged write survives a
    # power loss. NORMAL: the WAL is fsynced at checkpoints only; still safe against application and OS
    # crashes (no corruption, nothing acknowledged lost when only the process dies), but the last commits
    # before a power loss or kernel panic may be rolled back. See docs/reliability.md.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'xingji.sqlite3'}"

    def resolved_secret_key(self) -> str:
        """SECRET_KEY from the environment, else one generated once and kept under data/."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"


@lru_cache
def get_settings() -> Settings:
    return Settings()
