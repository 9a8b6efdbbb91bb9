"""segments_for (GSM-7 / UCS-2 rules) and the webhook signature and host rules."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from murano_sim.net.hosts import is_allowed_host
from murano_sim.services.twilio import sign
from murano_sim.services.twilio.models import segments_for


@pytest.mark.parametrize(
    "body, segments",
    [
        ("", 1),
        ("hello", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 1530, 10),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà", 1),  # all in the GSM-7 basic table
        ("€" * 80, 1),  # extension characters take two septets: 160 septets
        ("€" * 81, 2),
        ("a" * 159 + "^", 2),  # 161 septets
        ("a" * 158 + "{", 1),  # exactly 160 septets
        ("a" * 152 + "]" + "a" * 152, 3),  # 306 septets, but the escape pair is not split: 152 | 153 | 1
        ("[" * 80, 1),  # 160 septets
        ("[" * 81, 2),
        ("é" * 160, 1),  # é is GSM-7
        ("ê" * 1, 1),  # ê is not: UCS-2
        ("ê" * 70, 1),
        ("ê" * 71, 2),
        ("ê" * 134, 2),
        ("ê" * 135, 3),
        ("a" * 69 + "😀", 2),  # the emoji is two UTF-16 code units: 71 units
        ("😀" * 35, 1),  # 70 units
        ("😀" * 36, 2),
        ("a" * 66 + "😀" + "a" * 66, 3),  # 134 units, but the surrogate pair is not split: 66 | 67 | 1
        ("Ω" * 161, 2),  # Greek capitals that exist in GSM-7 stay GSM-7
        ("ω" * 70, 1),  # lowercase omega is not GSM-7
        ("line\nbreak\r", 1),
        ("tab\there", 1),  # tab is not GSM-7: UCS-2, still one segment
    ],
)
def test_segments_follow_gsm7_and_ucs2_rules(body, segments):
    assert segments_for(body) == segments


def test_a_1600_character_gsm_body_is_eleven_segments():
    assert segments_for("x" * 1600) == 11


@pytest.mark.parametrize(
    "url, params",
    [
        ("https://example.com/sms", {"From": "+15551234567", "To": "+15005550006", "Body": "hi there & more"}),
        ("http://127.0.0.1:8000/cb?x=1&y=2", {"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent"}),
        ("http://localhost/voice", {}),
        ("http://localhost/unicode", {"Body": "héllo 😀", "b": "1", "a": "2"}),
        ("http://localhost/multi", {"MediaUrl": ["http://x/2.png", "http://x/1.png"], "Body": "x"}),
    ],
)
def test_sign_matches_the_official_request_validator(url, params):
    token = "12345678901234567890123456789012"
    signature = sign(url, params, token)
    form = MultiDict([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])])
    validator = RequestValidator(token)
    assert signature == validator.compute_signature(url, form)
    assert validator.validate(url, form, signature)
    assert not RequestValidator("another-token").validate(url, form, signature)


@pytest.mark.parametrize(
    "url, allow, allowed",
    [
        ("http://127.0.0.1:5000/cb", [], True),
        ("http://127.9.9.9/cb", [], True),
        ("http://localhost/cb", [], True),
        ("http://LOCALHOST:1/cb", [], True),
        ("http://[::1]:8080/cb", [], True),
        ("https://example.com/cb", [], False),
        ("https://example.com/cb", ["example.com"], True),
        ("https://EXAMPLE.com/cb", ["example.com"], True),
        ("https://api.example.com/cb", ["example.com"], False),
        ("http://10.0.0.1/cb", [], False),
        ("http://127.0.0.1.example.com/cb", [], False),
        ("http://evil.localhost/cb", [], False),  # could be resolved by a DNS server
        ("not a url", [], False),
        ("http:///nohost", [], False),
    ],
)
def test_only_loopback_or_allowed_hosts_are_webhook_targets(url, allow, allowed):
    assert is_allowed_host(url, allow) is allowed
