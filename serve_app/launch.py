"""Run the service locally: provision models, then ``serve run`` the config.

Usage::

    python -m serve_app.launch [--profile laptop|gpu|loadtest | --config FILE] [--host H] [--port P]
                               [--direct-ingress]

Host and port also come from ``LUNA_HOST`` / ``LUNA_PORT``; ``LUNA_DIRECT_INGRESS=1`` is
``--direct-ingress`` (:func:`direct_ingress`). The config's relative paths are
made absolute and the result is written beside the data (``<data_dir>/serve_config.run.yaml``),
because Ray workers do not share the launcher's working directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import yaml

from models import paths
from models import provision as provisioning
from serve_app.profiles import PROFILES, load_config, profile_path
from serve_app.settings import LimitSettings


def effective_config(config: dict[str, Any], host: str | None, port: int | None) -> dict[str, Any]:
    """``config`` with the listen address and absolute data paths filled in."""
    config = dict(config)
    http = dict(config.get("http_options") or {})
    if host:
        http["host"] = host
    if port:
        http["port"] = port
    config["http_options"] = http
    apps = []
    for app in config.get("applications", []):
        app = dict(app)
        args = dict(app.get("args") or {})
        args["data_dir"] = str(
            Path(args.get("data_dir") or paths.data_dir()).expanduser().resolve()
        )
        if args.get("models_dir"):
            args["models_dir"] = str(Path(args["models_dir"]).expanduser().resolve())
        app["args"] = args
        apps.append(app)
    config["applications"] = apps
    return config


# With direct ingress, Ray still starts its HTTP proxy on the head node: it moves this far
# above the service's port, and ingress replicas listen on the port and the next ones.
PROXY_PORT_OFFSET = 100
INGRESS_PORTS = 16


def direct_ingress(config: dict[str, Any], environ: MutableMapping[str, str]) -> dict[str, Any]:
    """``config`` and ``environ`` for Ray Serve's throughput-optimized mode
    (``RAY_SERVE_THROUGHPUT_OPTIMIZED``, Ray 2.5x, experimental): each ingress replica serves
    HTTP itself on the configured port (a second replica on the same node on the next port,
    up to ``INGRESS_PORTS``), which saves the proxy's hop; deployments call each other over
    gRPC, user code runs on each replica's event loop, and the garbage collector is frozen
    after start. Ray's proxy, which still balances across ingress replicas, moves to port +
    ``PROXY_PORT_OFFSET`` (docs/performance.md has the measurements)."""
    config = dict(config)
    http = dict(config.get("http_options") or {})
    port = int(http.get("port") or 8000)
    http["port"] = port + PROXY_PORT_OFFSET
    config["http_options"] = http
    environ["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
    environ["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] = str(port)
    environ["RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"] = str(port + INGRESS_PORTS - 1)
    return config


def max_body_bytes(config: dict[str, Any]) -> int:
    """The body limit of the config's application (its ``limits.max_body_bytes``)."""
    args = next(iter(config.get("applications") or [{}])).get("args") or {}
    return LimitSettings.model_validate(args.get("limits") or {}).max_body_bytes


def main(argv: list[str] | None = None) -> int:
    """Provision, write the effective config, and replace this process with ``serve run``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--profile", choices=sorted(PROFILES), help="a shipped profile by name")
    choice.add_argument("--config", type=Path, help="a config file (default: the laptop profile)")
    parser.add_argument("--host", default=os.environ.get("LUNA_HOST"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LUNA_PORT") or 0) or None)
    parser.add_argument(
        "--direct-ingress",
        action="store_true",
        default=os.environ.get("LUNA_DIRECT_INGRESS") == "1",
        help="ingress replicas serve HTTP themselves, without Ray's proxy hop (experimental)",
    )
    parser.add_argument("--no-provision", action="store_true", help="skip fetching model files")
    parser.add_argument(
        "--run-config", type=Path, default=None, help="where to write the effective config"
    )
    options = parser.parse_args(argv)

    data_dir = paths.data_dir()
    os.environ["LUNA_DATA_DIR"] = str(data_dir)
    source = options.config or profile_path(options.profile or "laptop")
    config = effective_config(load_config(source), options.host, options.port)
    listen = dict(config["http_options"])
    if options.direct_ingress:
        config = direct_ingress(config, os.environ)
    run_config = options.run_config or data_dir / "serve_config.run.yaml"
    run_config.parent.mkdir(parents=True, exist_ok=True)
    run_config.write_text(yaml.safe_dump(config, sort_keys=False))
    if not options.no_provision and provisioning.main(["--config", str(run_config)]) != 0:
        return 1
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray's HTTP proxy buffers whole bodies before the app sees them: refuse oversized ones
    # there, at the configured limit, so they cost neither the proxy's nor the ingress's memory.
    os.environ["RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"] = (
        "serve_app.http.protocol:proxy_middlewares"
    )
    os.environ["LUNA_MAX_BODY_BYTES"] = str(max_body_bytes(config))
    where = f"http://{listen.get('host')}:{listen.get('port')}"
    if options.direct_ingress:
        proxy = config["http_options"]["port"]
        where += f" (direct ingress; Ray's proxy on port {proxy})"
    print(f"starting Ray Serve on {where} ({run_config})")
    serve = Path(sys.executable).with_name("serve")
    os.execv(str(serve), [str(serve), "run", str(run_config)])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
