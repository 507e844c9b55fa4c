#!/usr/bin/env python
"""Stockroom operator CLI: up, down, status, env, migrate, seed, check, rollups, simulate, capacity,
soak, changefeed, bench."""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, function, help). Modules are imported only when their command runs;
# each may also define `add_arguments_<function>(parser)` for its own options.
COMMANDS = {
    "up": ("stack.services", "up", "start the embedded stack and its processes; migrate"),
    "down": ("stack.services", "down", "stop the embedded stack"),
    "status": ("stack.services", "status", "show what is running"),
    "env": ("stack.services", "env", "print export lines for DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS"),
    "migrate": ("stack.services", "migrate_command", "apply pending schema migrations"),
    "seed": ("stack.seed", "seed_command", "load deterministic demo data"),
    "check": ("queries.invariants", "check_command", "verify every stock and order invariant"),
    "rollups": ("queries.rollups", "rollups_command", "refresh headquarters' stock figures now"),
    "simulate": ("stack.simulate", "simulate_command", "generate live order and stock traffic"),
    "capacity": ("stack.capacity", "capacity_command", "find the highest order rate this stack sustains"),
    "soak": ("stack.soak", "soak_command", "holiday traffic under injected faults; nothing lost?"),
    "changefeed": ("changefeed.cli", "changefeed_command", "set up or show the change stream"),
    "bench": ("bench.cli", "bench_command",
              "run a benchmark: seed, transfers, orders, changefeed, tabs"),
}


def _is_the_command_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """The command's own module (or its package) is absent, not something it imports."""
    return module_name == exc.name or module_name.startswith(f"{exc.name}.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, function, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text)
        if name == "up":
            command_parser.add_argument("--no-background", action="store_true",
                                        help="do not start the relay and workers")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not _is_the_command_module(exc, module_name):
                raise
            continue
        add_arguments = getattr(module, f"add_arguments_{function}", None)
        if add_arguments:
            add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, function, _ = COMMANDS[args.command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not _is_the_command_module(exc, module_name):
            raise
        print(f"`{args.command}` is not available in this build.", file=sys.stderr)
        return 2
    return getattr(module, function)(args) or 0


if __name__ == "__main__":
    sys.exit(main())
