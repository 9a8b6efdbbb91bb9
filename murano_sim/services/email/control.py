"""Email's control: the outbox (every email the solution sent), for the console, the `outbox`
fixture and yaml cases (`expect.outbox` lists the messages, in order)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..control import CaseDataError, FixtureError, Mismatch, ServiceControl, contains, project

ADDRESS_FIELDS = ("to", "cc", "bcc")
TEXT_CONTAINS = "text_contains"  # an outbox entry's substring of the text or html body


class Outbox:
    """Every email the solution sent, oldest first (a live view: read it after the script ran)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self._model.outbox()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.messages[index]

    @property
    def last(self) -> dict[str, Any]:
        messages = self.messages
        if not messages:
            raise FixtureError("the outbox is empty: no email was sent")
        return messages[-1]

    def to(self, address: str) -> list[dict[str, Any]]:
        """The messages addressed to `address` (to, cc or bcc)."""
        wanted = address.lower()
        return [m for m in self.messages
                if any(wanted in a.lower() for a in (*m["to"], *m["cc"], *m["bcc"]))]


class EmailControl(ServiceControl):
    expect_keys = ("outbox",)

    def fixture(self) -> Outbox:
        return Outbox(self.model)

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """{"outbox": [...]}, secrets hidden."""
        with self.host.state.lock:
            outbox = self.model.outbox()
        return {"outbox": self.redacted(outbox)}

    @staticmethod
    def check_case(key: str, where: str, value: Any, *, expect: bool) -> Any:
        if not isinstance(value, list) or not all(isinstance(m, Mapping) for m in value):
            raise CaseDataError(f"{where} must be a list of messages ({{to, subject, ...}})")
        return value

    def expect(self, key: str, wanted: Any) -> list[Mismatch]:
        """The outbox holds exactly the listed messages, in order; each holds the listed fields."""
        messages = self.fixture().messages
        specs = [_outbox_spec(w) for w in wanted]
        shown = [project(m, spec) for m, (spec, _) in zip(messages, specs, strict=False)]
        ok = len(messages) == len(specs) and all(
            contains(m, spec) and all(t in (m.get("text") or "") + (m.get("html") or "") for t in texts)
            for m, (spec, texts) in zip(messages, specs, strict=False)
        )
        if ok:
            return []
        note = f"expected {len(specs)} message(s), got {len(messages)}" if len(messages) != len(specs) else \
            "a message differs"
        return [Mismatch("outbox", [dict(w) for w in wanted], shown + messages[len(specs):], note)]


def _outbox_spec(wanted: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(fields to match as a subset, texts the body must contain); a single address is a list of one."""
    spec = {k: v for k, v in wanted.items() if k != TEXT_CONTAINS}
    for field in ADDRESS_FIELDS:
        if isinstance(spec.get(field), str):
            spec[field] = [spec[field]]
    texts = wanted.get(TEXT_CONTAINS) or []
    return spec, [texts] if isinstance(texts, str) else [str(t) for t in texts]


factory = EmailControl
