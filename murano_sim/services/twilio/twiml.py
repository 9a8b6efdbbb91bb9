"""Voice TwiML documents: parsed with a hardened XML parser into plain verbs.

A document Twilio cannot read (not XML, a DTD or entity trick, a root other than <Response>)
is Twilio's error 12100 "Document parse failure". Nothing here runs a verb: voice.py does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_DOCUMENT = 64 * 1024  # Twilio's limit on a TwiML response
VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Dial", "Record", "Message", "Sms",
         "Enqueue", "Leave", "Connect", "Stream", "Pay", "Refer", "Start", "Stop", "Echo", "Prompt"}
NOUNS = {"Number", "Client", "Sip", "Conference", "Queue", "Sim", "Application"}


class TwimlError(Exception):
    """A document Twilio would refuse: its error code (12100 parse failure, 11200 fetch failure)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Verb:
    name: str
    attrs: dict[str, str]
    text: str
    children: list[Verb] = field(default_factory=list)


def _verb(element: ET.Element) -> Verb:
    tag = element.tag
    if not isinstance(tag, str) or "}" in tag:
        raise TwimlError(12100, f"Document parse failure: unexpected element {tag!r}")
    return Verb(tag, dict(element.attrib), (element.text or "").strip(), [_verb(child) for child in element])


def parse(text: str) -> list[Verb]:
    """The top-level verbs of a <Response> document."""
    if len(text) > MAX_DOCUMENT:
        raise TwimlError(12100, f"Document parse failure: the document is over {MAX_DOCUMENT} bytes")
    try:
        root = fromstring(text.strip().encode("utf-8"), forbid_dtd=True)
    except ET.ParseError as exc:
        raise TwimlError(12100, f"Document parse failure: {exc}") from None
    except DefusedXmlException as exc:
        raise TwimlError(12100, f"Document parse failure: {type(exc).__name__}") from None
    if root.tag != "Response":
        raise TwimlError(12100, f"Document parse failure: the root element is <{root.tag}>, not <Response>")
    verbs = [_verb(child) for child in root]
    for verb in verbs:
        if verb.name not in VERBS:
            raise TwimlError(12100, f"Document parse failure: <{verb.name}> is not a TwiML verb")
    return verbs


class Goto:
    """Run another document: fetched from url, or the text given (a <Redirect>, an action, the API's redirect)."""

    def __init__(self, url: str | None, method: str = "POST", params: Mapping[str, str] | None = None,
                 text: str | None = None) -> None:
        self.url, self.method, self.params, self.text = url, method, dict(params or {}), text
