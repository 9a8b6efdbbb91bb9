"""Typed Twilio errors: the domain raises them, the wire renders Twilio's error body."""

from __future__ import annotations


class TwilioError(Exception):
    """A failure Twilio reports as {code, message, more_info, status}."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def more_info(self) -> str:
        return f"https://www.twilio.com/docs/errors/{self.code}"

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "more_info": self.more_info, "status": self.status}

    def __repr__(self) -> str:
        return f"TwilioError({self.status}, {self.code}, {self.message!r})"


def bad_request(code: int, message: str) -> TwilioError:
    return TwilioError(400, code, message)


def invalid_parameter(message: str) -> TwilioError:
    return TwilioError(400, 20001, message)


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def authentication_failed() -> TwilioError:
    return TwilioError(401, 20003, "Authenticate")


# Codes used when fault injection gives only a status.
DEFAULT_CODES = {400: 20001, 401: 20003, 403: 20403, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}


def code_for_status(status: int) -> int:
    return DEFAULT_CODES.get(status, 20000 + status if status < 1000 else 20500)
