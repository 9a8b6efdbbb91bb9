"""Cut the parts of Twilio's OpenAPI description that the twelve operations use.

Usage: python scripts/extract_spec_subset.py SPEC.json tests/data/twilio_api_v2010_subset.json
The output keeps the paths behind Murano's Twilio operations and every component they
reference, so the tests can validate requests and responses without the 1.8 MB original.
"""

import json
import sys

PATHS = [
    "/2010-04-01/Accounts/{AccountSid}/Calls.json",
    "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Tokens.json",
]


def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def main(src: str, dst: str) -> None:
    spec = json.load(open(src, encoding="utf-8"))
    out = {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec["servers"],
        "paths": {p: spec["paths"][p] for p in PATHS},
        "components": {},
    }
    pending: set[str] = set()
    refs(out["paths"], pending)
    done: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, section, name = ref.split("/", 3)
        node = spec["components"][section][name]
        out["components"].setdefault(section, {})[name] = node
        refs(node, pending)
    if "securitySchemes" in spec["components"]:
        out["components"]["securitySchemes"] = spec["components"]["securitySchemes"]
    out["security"] = spec.get("security", [])
    json.dump(out, open(dst, "w", encoding="utf-8"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
