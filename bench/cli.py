"""`manage.py bench <name> [options]`: dispatch to bench.<name>:run(args), importing it only then.

Each benchmark defines its own options with `add_arguments(parser)`
(`python manage.py bench transfers --help` lists them). Every benchmark also accepts
--scale, --clients, --seconds and repeatable `-o KEY=VALUE` (collected in args.options)
unless it defines them itself. Benchmark modules are not imported while manage.py builds its
parser, so a heavy or missing benchmark never slows down or breaks other commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "seed": "demo-data seed (rows/s) next to a raw COPY of the same rows",
    "transfers": "concurrent stock transfers next to pgbench TPC-B-like",
    "orders": "order placement next to pgbench, search latency next to psql",
    "changefeed": "commit-to-consumer latency; relay throughput next to a raw producer",
    "tabs": "Inventory tab switch through AppTest next to that tab's queries run directly",
    "pages": "every page per role through AppTest next to its SQL run directly; 10 viewers",
}


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


COMMON_OPTIONS: list[tuple[tuple[str, ...], dict]] = [
    (("--scale",), {"default": None, "help": "data scale: tiny, small or large"}),
    (("--clients",), {"type": int, "default": None, "help": "concurrent clients"}),
    (("--seconds",), {"type": float, "default": None, "help": "how long to run"}),
    (("-o", "--option"), {"dest": "option_pairs", "action": "append", "type": _key_value,
                          "default": [], "metavar": "KEY=VALUE",
                          "help": "an option specific to one benchmark (repeatable)"}),
]


def add_arguments_bench_command(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("name", choices=list(BENCHMARKS),
                        help="; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    parser.add_argument("rest", nargs=argparse.REMAINDER,
                        help="options of that benchmark (see manage.py bench NAME --help)")


def benchmark_parser(name: str, module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"manage.py bench {name}",
                                     description=BENCHMARKS.get(name, module.__doc__))
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    for flags, kwargs in COMMON_OPTIONS:
        try:
            parser.add_argument(*flags, **kwargs)
        except argparse.ArgumentError:
            pass  # the benchmark defines this option itself
    return parser


def bench_command(args: argparse.Namespace) -> int:
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
    options = benchmark_parser(args.name, module).parse_args(getattr(args, "rest", None) or [])
    options.name = args.name
    options.options = dict(getattr(options, "option_pairs", []) or [])
    return module.run(options) or 0
