"""The doctor's settings checks: the config file's permissions, and where each setting came from."""

from __future__ import annotations

import stat
from pathlib import Path

from ..config import SETTINGS, Settings
from .check import OK, WARNING, Check


def check_config(settings: Settings) -> list[Check]:
    return _config_file_check(settings) + [_sources_check(settings)]


def _config_file_check(settings: Settings) -> list[Check]:
    if not settings.config_path:
        return [Check("config file", OK, "none found: defaults and environment variables apply")]
    path = Path(settings.config_path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [Check("config file", WARNING, f"{path} (mode {mode:o}) is readable by others",
                      f"run `chmod 600 {path}`")]
    return [Check("config file", OK, f"{path} (mode {mode:o})")]


def _sources_check(settings: Settings) -> Check:
    """Where each setting came from: file, env, flag or default (the file wins over defaults only)."""
    parts = []
    for setting in SETTINGS:
        source = settings.sources.get(setting.name, "default")
        label = {"file": f"file {settings.config_path}", "env": f"env {setting.env}"}.get(source, source)
        parts.append(f"{setting.name}: {label}")
    return Check("settings", OK, "; ".join(parts))
