"""The solution's identity (id, name, domain, products, business id): every service that needs it
(Config's solution(), Timer's ids) reads it here, so none imports another service's folder."""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Mapping
from typing import Any

_BASE36 = string.digits + string.ascii_lowercase


def solution_identity(platform: Any) -> dict[str, Any]:
    """{id, name, domain, products, business_id}: config.yaml's services.config.solution where it
    names them, else stable values derived from the solution folder's name."""
    given: Mapping[str, Any] = {}
    config_service = platform.by_alias.get("config")
    if config_service is not None:
        given = config_service.host.settings.get("solution") or {}
    folder = getattr(platform.config, "base_dir", None)
    name = str(given.get("name") or _domain_label(folder.name if folder is not None else "") or "solution")
    solution_id = str(given.get("id") or _stable_id("solution", name))
    products = given.get("products")
    layout_product = getattr(platform, "layout_product", None)  # a MuranoCLI project's .murano/config
    return {
        "id": solution_id,
        "name": name,
        "domain": str(given.get("domain") or f"{_domain_label(name) or solution_id}.apps.exosite.io"),
        # 2016-2017 solutions read Config.solution().products[1] as the pid for Device calls, and a
        # deployed solution was linked to its product: one stable product id unless configured
        "products": [str(p) for p in products] if isinstance(products, list)
        else [layout_product or _stable_id("product", name)],
        "business_id": str(given.get("business_id") or _stable_id("business", name)),
    }


@functools.lru_cache(maxsize=64)  # a pure function, asked on every device write (Device v1's pid)
def _stable_id(kind: str, name: str) -> str:
    """A Murano-looking id (17 lower-case base-36 characters) that depends only on `name`."""
    number = int.from_bytes(hashlib.sha256(f"{kind}:{name}".encode()).digest()[:11], "big")
    digits = []
    for _ in range(17):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(digits)


def _domain_label(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
