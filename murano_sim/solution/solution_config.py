"""Which config a solution runs with (serve, check, and `run` inside a solution)."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Config
from ..services.settings import load_config


def config_for(solution_dir: str | os.PathLike[str], config_path: str | os.PathLike[str] | None) -> Config:
    """--config FILE, else SOLUTION_DIR/config.yaml, else ./config.yaml, else the built-in defaults."""
    if config_path is not None:
        return load_config(config_path)
    beside = Path(solution_dir) / "config.yaml"
    return load_config(beside if beside.is_file() else None)
