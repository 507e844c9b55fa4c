"""`manage.py bench <name>`: dispatch to bench.<name>:run(args), importing it only then.

Every benchmark gets the same few options: --scale, --clients, --seconds, and repeatable
`-o KEY=VALUE` for anything specific to one benchmark (collected in args.options, a dict of
strings). Benchmark modules are not imported while the parser is built, so a heavy or
missing benchmark never slows down or breaks other manage.py commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "seed": "demo-data seed (rows/s) next to a raw COPY of the same rows",
    "transfers": "concurrent stock transfers against a baseline",
    "orders": "concurrent order placement against a baseline",
    "changefeed": "change-stream latency and throughput",
}


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def add_arguments_bench_command(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("name", choices=list(BENCHMARKS),
                        help="; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    parser.add_argument("--scale", default=None,
                        help="data scale: tiny, small or large (seed defaults to large)")
    parser.add_argument("--clients", type=int, default=None,
                        help="concurrent clients, for load benchmarks")
    parser.add_argument("--seconds", type=float, default=None,
                        help="how long to run, for load benchmarks")
    parser.add_argument("-o", "--option", dest="option_pairs", action="append", type=_key_value,
                        default=[], metavar="KEY=VALUE",
                        help="an option specific to one benchmark (repeatable)")


def bench_command(args: argparse.Namespace) -> int:
    args.options = dict(getattr(args, "option_pairs", []) or [])
    module_name = f"bench.{args.name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        module = None
    if module is None or not hasattr(module, "run"):
        print(f"benchmark {args.name} is not available in this build", file=sys.stderr)
        return 2
    return module.run(args) or 0
