"""Watching a solution's files: a background thread that calls back once per saved batch of changes.

watchfiles (inotify, FSEvents, ReadDirectoryChangesW) reports a save as it happens, so `serve`
reloads and prints the loader's problems without a request and without scanning the tree per
request. Where the filesystem gives no events (some network and container mounts), set
WATCHFILES_FORCE_POLLING=1; where the watch cannot start (no inotify instance left), it polls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import watchfiles

_log = logging.getLogger("murano_sim.solution")


class Watcher:
    """Calls `on_change(paths)` from a daemon thread after each batch of changes under `root`;
    `ignore` (folders under root) are left out, as the static asset folders are."""

    def __init__(self, root: Path, on_change: Callable[[set[str]], None], ignore: tuple[str, ...] = (),
                 on_ready: Callable[[], None] | None = None) -> None:
        """on_ready: called once the watch is in place (a save before that is for it to catch)."""
        self.root = root
        self._on_change = on_change
        self._on_ready = on_ready
        self._ignore = tuple(str(root / name) for name in ignore)
        self._stop = threading.Event()
        import watchfiles  # here: only `serve` watches; the pytest plugin and `run` skip its ~30 ms import

        self._watchfiles = watchfiles
        # Editors' swap and backup files, version control, caches: a save of any other file is a change.
        self._filter = watchfiles.DefaultFilter()
        self.polling = False  # True when the platform's events could not be had
        self._thread = threading.Thread(target=self._run, name="murano-sim-watch", daemon=True)
        self._thread.start()

    def _wanted(self, change: watchfiles.Change, path: str) -> bool:
        if any(path == folder or path.startswith(folder + "/") for folder in self._ignore):
            return False
        # dot-files and dot-folders are never part of a solution (.git, an editor's temporary save)
        under = Path(path).relative_to(self.root) if Path(path).is_relative_to(self.root) else Path(path)
        hidden = any(part.startswith(".") for part in under.parts)
        return not hidden and self._filter(change, path)

    def _run(self) -> None:
        force_polling: bool | None = None  # None: events, unless WATCHFILES_FORCE_POLLING is set
        while not self._stop.is_set():
            try:
                self._watch(force_polling)
            except (OSError, RuntimeError) as exc:  # e.g. no inotify instance left, a file gone mid-poll
                _log.warning("watching %s: %s; watching again%s", self.root, exc, " by polling" * (not self.polling))
                self.polling = force_polling = True

    def _watch(self, force_polling: bool | None) -> None:
        # debounce/step: a save that writes several files is one batch, reported ~50 ms after it ends
        # yield_on_timeout: an empty batch each second, the first of which says the watch is in place
        changes_seen = self._watchfiles.watch(self.root, watch_filter=self._wanted, stop_event=self._stop,
                                              force_polling=force_polling, raise_interrupt=False,
                                              ignore_permission_denied=True, yield_on_timeout=True,
                                              rust_timeout=1000)
        for changes in changes_seen:
            if self._stop.is_set():
                return
            if self._on_ready is not None:
                ready, self._on_ready = self._on_ready, None
                ready()
            if changes:
                self._on_change({path for _, path in changes})

    def close(self) -> None:
        """Stops the thread (it notices within watchfiles' timeout; the thread is a daemon)."""
        self._stop.set()
