"""The request's full URL for Murano's `request.uri`, without Werkzeug's rebuilding on every request.

Werkzeug's `request.url` quotes the path and query, then turns the URI back into an IRI (a
percent-decoding pass): about a tenth of a simple request's cost outside the Lua run. For the
common URL, plain ASCII with nothing to quote or decode, both passes change nothing, so it is
joined directly; any other URL is left to Werkzeug, so the result is always `request.url`'s.
"""

from __future__ import annotations

import re

from werkzeug.wrappers import Request

# Characters both passes leave as they are: letters, digits, the unreserved marks and the
# sub-delimiters Werkzeug keeps unquoted ('%' excluded: it would be decoded). Host: a name or an
# address with a port, lower case, not an IDNA name (xn--, which Werkzeug may decode).
_PLAIN = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,/:;=@]*")
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,/:;=@?]*")
_PLAIN_HOST = re.compile(r"[a-z0-9.\-:\[\]]+")  # Werkzeug lower-cases a host name


def request_url(request: Request) -> str:
    """`request.url`, built directly when the URL is plain ASCII (see the module's note)."""
    environ = request.environ
    host = environ.get("HTTP_HOST")
    root = environ.get("SCRIPT_NAME", "")
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    plain = (
        isinstance(host, str) and _PLAIN_HOST.fullmatch(host) is not None and "xn--" not in host
        and _PLAIN.fullmatch(root) is not None and _PLAIN.fullmatch(path) is not None
        and _PLAIN_QUERY.fullmatch(query) is not None
    )
    if not plain:
        return request.url
    url = f"{request.scheme}://{request.host}{root.rstrip('/')}/{path.lstrip('/')}"
    return f"{url}?{query}" if query else url
