"""tuidl's own settings file (docs/alerts.md): TOML at ``$TUIDL_CONFIG``, else the
per-user config folder (``platformdirs.user_config_dir("tuidl")``: on Linux
``$XDG_CONFIG_HOME/tuidl/config.toml``, by default ``~/.config/tuidl/config.toml``).

Today it holds the alert rules (``[alerts]``, :mod:`tuidl.core.alerts.rules`). A missing
file is the defaults; a file that is not TOML, or a key that is wrong, is one line naming
the file (and the key). The dashboard writes the file back when rules are changed there
(atomically; other tables are kept, comments are not)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from tuidl.core.preset.schema import ConfigError

__all__ = ["ENV", "alert_rules", "config_path", "load", "save_alert_rules"]

ENV = "TUIDL_CONFIG"


def config_path() -> Path:
    """Where the config file is (whether or not it exists)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("tuidl")) / "config.toml"


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The file's tables; ``{}`` when there is no file."""
    path = Path(path) if path is not None else config_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def alert_rules(path: str | os.PathLike | None = None):
    """The ``[alerts]`` rules of the file (:class:`~tuidl.core.alerts.rules.AlertRules`)."""
    from tuidl.core.alerts.rules import RuleError, from_table

    path = Path(path) if path is not None else config_path()
    try:
        return from_table(load(path).get("alerts"), str(path))
    except RuleError as e:
        raise ConfigError(str(e)) from None


def save_alert_rules(rules, path: str | os.PathLike | None = None) -> Path:
    """Write ``rules`` as the file's ``[alerts]`` (the folder made if needed); the path."""
    import tomli_w

    from tuidl.core.alerts.rules import to_table
    from tuidl.core.run.rundir import write_atomic

    path = Path(path) if path is not None else config_path()
    data = load(path)
    data["alerts"] = to_table(rules)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomli_w.dumps(data).encode())
    return path
