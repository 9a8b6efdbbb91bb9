"""simple_websocket's Client with one fix for its handshake, for the tests that act as WebSocket clients.

simple_websocket's `Client.handshake` takes only the 101 from wsproto's events: a message the server
sent right after the upgrade that arrived in the same read stays in wsproto's buffer until more data
comes (the reader thread looks only after its next recv), so a test waiting for that first message
hangs. Seen under load as "no message before the hang guard". Taken here before the reader starts.
"""

from __future__ import annotations

import simple_websocket


class Client(simple_websocket.Client):
    def handshake(self) -> None:
        super().handshake()
        self.connected = self._handle_events()  # the reader thread has not started: no race on wsproto
