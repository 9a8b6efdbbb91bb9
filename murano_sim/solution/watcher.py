"""Watching a solution's files: a background thread that calls back once per saved batch of changes.

watchfiles (inotify, FSEvents, ReadDirectoryChangesW) reports a save as it happens, so `serve`
reloads and prints the loader's problems without a request and without scanning the tree per
request. Where the filesystem gives no events (some network and container mounts), set
WATCHFILES_FORCE_POLLING=1; where the watch cannot start (no inotify instance left), it polls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

# Editors' swap and backup files, version control, caches: a save of any other file is a change.
_FILTER = watchfiles.DefaultFilter()


class Watcher:
    """Calls `on_change(paths)` from a daemon thread after each batch of changes under `root`;
    `ignore` (folders under root) are left out, as the static asset folders are."""

    def __init__(self, root: Path, on_change: Callable[[set[str]], None], ignore: tuple[str, ...] = ()) -> None:
        self.root = root
        self._on_change = on_change
        self._ignore = tuple(str(root / name) for name in ignore)
        self._stop = threading.Event()
        self.polling = False  # True when the platform's events could not be had
        self._thread = threading.Thread(target=self._run, name="murano-sim-watch", daemon=True)
        self._thread.start()

    def _wanted(self, change: watchfiles.Change, path: str) -> bool:
        if any(path == folder or path.startswith(folder + "/") for folder in self._ignore):
            return False
        # dot-files and dot-folders are never part of a solution (.git, an editor's temporary save)
        under = Path(path).relative_to(self.root) if Path(path).is_relative_to(self.root) else Path(path)
        hidden = any(part.startswith(".") for part in under.parts)
        return not hidden and _FILTER(change, path)

    def _run(self) -> None:
        try:
            self._watch(force_polling=None)  # None: events, unless WATCHFILES_FORCE_POLLING is set
        except OSError:  # e.g. the user's inotify instances are used up
            self.polling = True
            self._watch(force_polling=True)

    def _watch(self, force_polling: bool | None) -> None:
        # debounce/step: a save that writes several files is one batch, reported ~50 ms after it ends
        for changes in watchfiles.watch(self.root, watch_filter=self._wanted, stop_event=self._stop,
                                        force_polling=force_polling, raise_interrupt=False,
                                        ignore_permission_denied=True):
            if self._stop.is_set():
                return
            self._on_change({path for _, path in changes})

    def close(self) -> None:
        """Stops the thread (it notices within watchfiles' timeout; the thread is a daemon)."""
        self._stop.set()
