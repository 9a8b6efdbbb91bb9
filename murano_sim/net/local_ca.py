"""A local certificate authority, made on first use, and a server certificate for the loopback names.

Device firmware and clients verify murano-sim's TLS ports against `ca.pem` (e.g. `gdc -E ca.pem`,
paho's `tls_set(ca_certs=...)`). The files are kept in one folder and reused on later runs, so a
device configured once keeps working; the keys are readable by their owner only.
"""

from __future__ import annotations

import fcntl
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class LocalCA:
    folder: Path

    @property
    def ca_path(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_path(self) -> Path:
        return self.folder / "server.pem"  # the server's key and certificate chain

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context with the loopback certificate (made now if it is not there yet)."""
        self.ensure()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.server_path))
        return context

    def ensure(self) -> None:
        if self.ca_path.is_file() and self.server_path.is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as lock:  # two serves starting at once make one CA, not two halves
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (self.ca_path.is_file() and self.server_path.is_file()):
                self._make()

    def _make(self) -> None:
        import trustme  # only when a CA is made: imported lazily, it pulls in cryptography

        ca = trustme.CA(organization_name="murano-sim local CA")
        server = ca.issue_cert(*LOOPBACK_NAMES)
        server_file = self.server_path.with_suffix(".tmp")
        fd = os.open(server_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(server.private_key_and_cert_chain_pem.bytes())
        ca.cert_pem.write_to_path(str(self.ca_path))  # public: the file devices are given
        os.replace(server_file, self.server_path)  # last: a half-made folder is made again next time
