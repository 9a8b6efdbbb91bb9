"""Murano's Email service: `send` puts every message in an outbox (the table `email_outbox` of the
solution's State) and, with an SMTP connection, really sends it with smtplib: only to loopback or
to a host listed in `services.email.allow_hosts`. `getSettings` reports the daily quota.

The SMTP password never reaches the outbox, a result, an error or a log.
"""

from __future__ import annotations

import ipaddress
import json
import re
import smtplib
import sqlite3
import ssl
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Any

from ...config import redact
from ...net.hosts import is_allowed_host
from ...state.connection import Database
from .. import ServiceError, ServiceHost
from ..bounds import (
    DEFAULT_QUOTA_BYTES,
    ByteQuota,
    check_count,
    check_size,
    positive_setting,
    row_bytes,
    table_bytes,
)

RELAY_SENDER = "mailrelay@exosite.com"  # Murano's sender when no custom server is configured
DEFAULT_DAILY_QUOTA = 1000
DEFAULT_TIMEOUT = 10.0
MAX_SUBJECT = 998
# Murano documents no message sizes: murano-sim's choices (docs/services/email.md).
MAX_BODY_BYTES = 1024 * 1024  # text, and html: the memory of one execution
MAX_RECIPIENTS = 100  # to, cc and bcc together
HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS email_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL,"
    " relay INTEGER NOT NULL, message TEXT NOT NULL)"
)


class EmailService:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        # The outbox keeps every message: a loop of sends over a custom server (no daily quota) stops here.
        limit = positive_setting(host.settings, "email", "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.quota = ByteQuota("Email.send", limit, "services.email.quota_bytes",
                               lambda: table_bytes(host.state, ["email_outbox"]))
        with host.state.transaction() as db:
            db.execute(SCHEMA)

    def reset(self) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM email_outbox")
            db.execute("DELETE FROM sqlite_sequence WHERE name = 'email_outbox'")
        self.quota.forget()

    # -- operations ------------------------------------------------------------------------------------
    def send(self, args: dict[str, Any]) -> None:
        if isinstance(args.get("email"), Mapping):  # June 2016: send{email = {to, subject, ...}}
            args = {**args["email"], **{k: v for k, v in args.items() if k != "email"}}
        connection = self._connection(args.get("connection"))
        to, cc, bcc = (_addresses(args.get(field), field) for field in ("to", "cc", "bcc"))
        if not to:
            raise ServiceError(400, "to: is required (an address or a list of addresses)")
        check_count("Email.send", "recipients (to, cc and bcc)", len(to) + len(cc) + len(bcc), MAX_RECIPIENTS)
        for field in ("text", "html"):
            if args.get(field) is not None:
                check_size("Email.send", field, args[field], MAX_BODY_BYTES)
        subject = _header_text(args.get("subject") or "", "subject")
        if len(subject) > MAX_SUBJECT:
            raise ServiceError(400, f"subject: must be at most {MAX_SUBJECT} characters, got {len(subject)}")
        sender = _header_text(args.get("from") or "", "from") if connection else ""
        sender = sender or (str(connection.get("user")) if connection and "@" in str(connection.get("user")) else "")
        sender = sender or RELAY_SENDER
        now = datetime.fromtimestamp(self.host.now(), timezone.utc)
        day = now.date().isoformat()
        if connection is None and self._usage(day) >= self._quota():
            raise ServiceError(429, f"the daily quota of {self._quota()} emails is used up for {day} (UTC)")
        record = {
            "from": sender, "requested_from": args.get("from"), "to": to, "cc": cc, "bcc": bcc, "subject": subject,
            "text": args.get("text"), "html": args.get("html"), "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "smtp": None,
        }
        stored = json.dumps(record)
        self.quota.charge(row_bytes(0, day, 0, stored))
        if connection is not None:
            message = _mime(record, now)
            record["message_id"] = message["Message-ID"]
            self._deliver(message, sender, [*to, *cc, *bcc], connection)
            record["smtp"] = f"{connection['scheme']}://{connection['server']}:{connection['port']}"
        with self.host.state.transaction() as db:
            db.execute("INSERT INTO email_outbox (day, relay, message) VALUES (?, ?, ?)",
                       (day, int(connection is None), json.dumps(record)))

    def getSettings(self, args: dict[str, Any]) -> dict[str, Any]:
        day = datetime.fromtimestamp(self.host.now(), timezone.utc).date().isoformat()
        settings: dict[str, Any] = {"usage": {"daily": self._usage(day)}}
        if not self._configured():
            settings["quota"] = {"daily": self._quota()}
        return settings

    # -- for tests and the CLI (not operations) ---------------------------------------------------------
    def outbox(self) -> list[dict[str, Any]]:
        return read_outbox(self.host.state.db)

    # -- helpers -----------------------------------------------------------------------------------------
    def _quota(self) -> int:
        return int(self.host.settings.get("daily_quota", DEFAULT_DAILY_QUOTA))

    def _usage(self, day: str) -> int:
        (count,) = self.host.state.db.execute(
            "SELECT COUNT(*) FROM email_outbox WHERE day = ?", (day,)).fetchone()
        return count

    def _configured(self) -> bool:
        return bool(self.host.parameters.get("connection_server"))

    def _connection(self, given: Any) -> dict[str, Any] | None:
        """The SMTP connection to use: the call's, else the configuration's, else none (outbox only)."""
        params = self.host.parameters
        if given:
            source = {k: given.get(k) for k in ("server", "port", "user", "password", "scheme", "require_starttls")}
        elif self._configured():
            source = {k: params.get(f"connection_{k}")
                      for k in ("server", "port", "user", "password", "scheme", "require_starttls")}
        else:
            return None
        server = str(source.get("server") or "")
        scheme = str(source.get("scheme") or "smtp").lower()
        if scheme not in ("smtp", "smtps"):
            raise ServiceError(400, f"connection.scheme: must be smtp or smtps, got {scheme!r}")
        try:
            port = int(source.get("port") or (465 if scheme == "smtps" else 25))
        except (TypeError, ValueError):
            raise ServiceError(400, "connection.port: must be a port number") from None
        if not 0 < port < 65536:
            raise ServiceError(400, f"connection.port: must be from 1 to 65535, got {port}")
        if not _plain_host(server):
            raise ServiceError(400, "connection.server: must be a host name or an IP address")
        allow = self.host.settings.get("allow_hosts") or ()
        literal = f"[{server}]" if ":" in server else server
        if not is_allowed_host(f"http://{literal}:{port}/", allow):
            # Refused before any connection: murano-sim sends mail only where the developer said it may.
            raise ServiceError(403, f"connection.server: {server} is not loopback and not in"
                                    " services.email.allow_hosts; add it there to send mail to it")
        return {"server": server, "port": port, "scheme": scheme, "user": source.get("user") or None,
                "password": source.get("password") or None, "require_starttls": _flag(source.get("require_starttls"))}

    def _deliver(self, message: EmailMessage, sender: str, recipients: list[str], connection: dict[str, Any]) -> None:
        timeout = float(self.host.settings.get("timeout_seconds") or DEFAULT_TIMEOUT)
        where = f"{connection['server']}:{connection['port']}"
        secrets = [s for s in (connection["password"], self.host.parameters.get("connection_password")) if s]
        try:
            if connection["scheme"] == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(connection["server"], connection["port"], timeout=timeout,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(connection["server"], connection["port"], timeout=timeout)
            with client:
                client.ehlo()
                if connection["scheme"] == "smtp" and connection["require_starttls"]:
                    if not client.has_extn("starttls"):
                        raise ServiceError(502, f"SMTP server {where} does not offer STARTTLS (required)")
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if connection["user"]:
                    client.login(str(connection["user"]), str(connection["password"] or ""))
                refused = client.send_message(message, from_addr=_bare(sender), to_addrs=[_bare(r) for r in recipients])
        except (smtplib.SMTPException, OSError) as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", [str(s) for s in secrets])
            raise ServiceError(502, f"SMTP delivery to {where} failed ({detail})") from None
        if refused:
            raise ServiceError(502, f"SMTP server {where} refused {', '.join(sorted(refused))}")


def read_outbox(db: Database) -> list[dict[str, Any]]:
    """Every message sent so far, oldest first (empty when the state has no Email table)."""
    try:
        rows = db.execute("SELECT id, message FROM email_outbox ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
    return [{"id": row_id, **json.loads(message)} for row_id, message in rows]


def _addresses(value: Any, field: str) -> list[str]:
    if value is None or value == "" or value == {} or value == []:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ServiceError(400, f"{field}: must be an address or a list of addresses")
    for item in items:
        _header_text(item, field)
        if "@" not in _bare(item):
            raise ServiceError(400, f"{field}: {item!r} is not an email address")
    return list(items)


def _header_text(value: Any, field: str) -> str:
    text = str(value)
    if "\r" in text or "\n" in text:
        raise ServiceError(400, f"{field}: must be on one line")
    return text


def _flag(value: Any) -> bool:
    """A boolean parameter, also when it came as text (a ${VAR} in config.yaml)."""
    return value.strip().lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)


def _bare(address: str) -> str:
    """'Sample App <mail@exosite.com>' -> 'mail@exosite.com'."""
    pairs = getaddresses([address])
    return pairs[0][1] if pairs and pairs[0][1] else address


def _plain_host(server: str) -> bool:
    try:
        ipaddress.ip_address(server)
        return True
    except ValueError:
        return bool(HOSTNAME.match(server))


def _mime(record: Mapping[str, Any], now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = record["from"]
    message["To"] = ", ".join(record["to"])
    if record["cc"]:
        message["Cc"] = ", ".join(record["cc"])
    message["Subject"] = record["subject"]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="murano-sim.invalid")
    text, html = record.get("text"), record.get("html")
    message.set_content(text or "")
    if html:
        if text:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    return message
