"""What `murano-sim check` shows about a loaded solution, as one JSON-ready dict or as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..services import emulated_services
from .loader import module_names
from .model import Solution


def solution_report(solution: Solution) -> dict[str, Any]:
    """Everything the loader found, the services the code references, and every problem."""
    global_files = {file for file, _ in solution.global_modules}
    emulated = {alias.lower() for alias in emulated_services()}
    return {
        "root": str(solution.root),
        "layout": solution.layout,
        "endpoints": [
            {
                "method": e.method, "path": e.path, "content_type": e.content_type, "tags": list(e.tags),
                "security": e.security, "ratelimit": e.ratelimit, "summary": e.summary,
                "file": e.file, "line": e.line,
            }
            for e in solution.endpoints
        ],
        "handlers": [
            {"service": h.service, "event": h.event, "file": h.file, "line": h.line}
            for _, h in sorted(solution.handlers.items())
        ],
        "modules": [
            {"names": names, "file": file, "global": file in global_files}
            for file, names in sorted(module_names(solution).items())
        ],
        "init_script": solution.init_script[0] if solution.init_script else None,
        "assets": [
            {"path": _relative(a.path, solution.root), "files": len(a.files())} for a in solution.assets
        ],
        "default_page": solution.default_page,
        "service_configs": sorted(solution.service_configs),
        "cors": solution.cors,
        "env_schema": solution.env_schema,
        "services": [
            {"name": name, "emulated": name.lower() in emulated}
            for name in sorted(solution.referenced_services, key=str.lower)
        ],
        "warnings": list(solution.warnings),
        "errors": list(solution.errors),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as lines a person reads in a terminal or a CI log."""
    lines = [f"solution {report['root']} ({report['layout']} layout)"]
    lines.append(f"endpoints: {len(report['endpoints'])}")
    for e in report["endpoints"]:
        extra = [f"accepts {e['content_type']}"] if e["content_type"] else []
        extra += [f"tags {','.join(e['tags'])}"] if e["tags"] else []
        extra += [f"security {e['security']}"] if e["security"] else []
        extra += [f"ratelimit {e['ratelimit']}/min"] if e["ratelimit"] is not None else []
        note = f" [{'; '.join(extra)}]" if extra else ""
        lines.append(f"  {e['method']} {e['path']}{note}  {e['file']}:{e['line']}")
    lines.append(f"event handlers: {len(report['handlers'])}")
    lines += [f"  {h['service']} {h['event']}  {h['file']}:{h['line']}" for h in report["handlers"]]
    lines.append(f"modules: {len(report['modules'])}")
    for m in report["modules"]:
        mark = "  (global: runs at every VM load)" if m["global"] else ""
        lines.append(f"  {', '.join(m['names'])}  {m['file']}{mark}")
    if report["init_script"]:
        lines.append(f"init script: {report['init_script']}")
    lines.append(f"assets: {len(report['assets'])} folder(s), default page {report['default_page']}")
    lines += [f"  {a['path']}/ ({a['files']} files)" for a in report["assets"]]
    if report["service_configs"]:
        lines.append(f"service configurations: {', '.join(report['service_configs'])}")
    if report["cors"] is not None:
        lines.append("cors: configured")
    if report["env_schema"] is not None:
        lines.append("env_schema:")
        lines += [f"  {key}: {value}" for key, value in report["env_schema"].items()]
    lines.append(f"services referenced: {len(report['services'])}")
    for s in report["services"]:
        state = "emulated" if s["emulated"] else ("NOT emulated: a call fails unless you declare a stand-in "
                                                  "or serve a product under its alias (serve --product)")
        lines.append(f"  {s['name']}: {state}")
    lines.append(f"warnings: {len(report['warnings'])}")
    lines += [f"  {w}" for w in report["warnings"]]
    lines.append(f"errors: {len(report['errors'])}")
    lines += [f"  {e}" for e in report["errors"]]
    return "\n".join(lines)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
