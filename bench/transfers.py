"""Benchmark: transfers (create + receive through the real commands) against pgbench TPC-B.

`python manage.py bench transfers` starts its own embedded PostgreSQL in a temporary
directory, loads locations, products and stock, then on the same server runs:

1. pgbench's built-in TPC-B-like script at 8 clients (`pgbench -i`, then
   `pgbench -c 8 -j 2 -T N`), twice: under the server's own default isolation (SERIALIZABLE,
   as the app runs; pgbench counts only committed transactions, and most of its transactions
   fail with 40001 on the few branch rows) and at READ COMMITTED (pgbench's usual setting,
   no failures) -- the harder baseline;
2. transfers at 8 client threads: each operation creates a transfer and receives it, i.e.
   two SERIALIZABLE commands with idempotency keys, four ledger rows; uniform SKUs, then a
   hot-spot mix (80% of operations on 1% of the SKUs).

It prints throughputs, the ratio transfers/s : pgbench tps, and the retry rate.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

REGIONS = ("EU", "NA", "APAC")


@dataclass
class Outcome:
    label: str
    seconds: float
    transfers: int = 0
    commands: int = 0
    retries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds if self.seconds else 0.0

    @property
    def retry_rate(self) -> float:
        """Retries per committed command."""
        return self.retries / self.commands if self.commands else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def _setup(locations: int, skus: int, on_hand: int) -> tuple[list[str], list[str]]:
    from queries.bulk_stock import load_locations, load_numbered_products, load_opening_stock

    rows = [(f"WH-{i:03d}", f"Warehouse {i}", "warehouse", REGIONS[i % len(REGIONS)],
             f"City {i}", 0.0, 0.0) for i in range(locations)]
    load_locations(rows)
    sku_list = load_numbered_products(skus)
    location_ids = [r[0] for r in rows]
    load_opening_stock(location_ids, sku_list, on_hand)
    return location_ids, sku_list


def run_transfers(label: str, seconds: float, clients: int, location_ids: list[str],
                  skus: list[str], hot_fraction: float = 0.0, hot_share: float = 0.8) -> Outcome:
    """Each client creates and receives transfers until the time is up."""
    from queries import transfers
    from queries.actor import Actor
    from queries.db import retry_stats
    from queries.errors import DomainError
    from queries.idempotency import new_key

    actor = Actor("bench", "admin", (), "Benchmark")
    hot = skus[: max(1, int(len(skus) * hot_fraction))] if hot_fraction else []
    outcome = Outcome(label, seconds)
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)

    def client(seed: int) -> None:
        rng = random.Random(seed)
        done, commands, failures, latencies = 0, 0, {}, []
        start_gate.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            sku = rng.choice(hot) if hot and rng.random() < hot_share else rng.choice(skus)
            source, destination = rng.sample(location_ids, 2)
            began = time.perf_counter()
            try:
                created = transfers.create_transfer(
                    actor, from_location_id=source, to_location_id=destination, sku=sku,
                    qty=rng.randint(1, 5), idempotency_key=new_key())
                commands += 1
                transfers.receive_transfer(actor, transfer_id=created["transfer_id"],
                                           idempotency_key=new_key())
                commands += 1
                done += 1
                latencies.append(time.perf_counter() - began)
            except (DomainError, psycopg.Error) as exc:
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
        with lock:
            outcome.transfers += done
            outcome.commands += commands
            outcome.latencies.extend(latencies)
            for name, n in failures.items():
                outcome.failures[name] = outcome.failures.get(name, 0) + n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    retry_stats.reset()
    start_gate.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    outcome.seconds = time.perf_counter() - began
    outcome.retries = retry_stats.retries
    return outcome


@dataclass
class PgbenchResult:
    label: str
    tps: float
    failed_pct: float
    retried_pct: float


def run_pgbench(port: int, seconds: float, clients: int, label: str, *,
                isolation: str | None, scale: int, max_tries: int = 1) -> PgbenchResult:
    from stack.postgres import bin_dir

    pgbench = str(bin_dir() / "pgbench")
    connection = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    env = dict(os.environ)
    if isolation:
        env["PGOPTIONS"] = f"-c default_transaction_isolation={isolation.replace(' ', chr(92) + ' ')}"
    init = subprocess.run([pgbench, "-i", "-q", "-s", str(scale), *connection, "pgbench"],
                          capture_output=True, text=True, env=env)
    if init.returncode != 0:
        raise RuntimeError(f"pgbench -i failed:\n{init.stderr}")
    result = subprocess.run(
        [pgbench, "-c", str(clients), "-j", "2", "-T", str(int(seconds)),
         f"--max-tries={max_tries}", *connection, "pgbench"],
        capture_output=True, text=True, env=env,
    )
    if result.returncode not in (0, 2):  # 2: some transactions failed after all tries
        raise RuntimeError(f"pgbench failed:\n{result.stderr}")
    out = result.stdout

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else 0.0

    return PgbenchResult(label, number(r"tps = ([\d.]+)"),
                         number(r"number of failed transactions: \d+ \(([\d.]+)%\)"),
                         number(r"number of transactions retried: \d+ \(([\d.]+)%\)"))


def _print_round(number: int, pgbench: list[PgbenchResult], outcomes: list[Outcome]) -> None:
    print()
    print(f"round {number}: {'workload':<52}{'per second':>12}{'retry rate':>12}"
          f"{'p50 ms':>9}{'p95 ms':>9}")
    for p in pgbench:
        print(f"round {number}: {p.label:<52}{p.tps:>12.1f}{p.retried_pct / 100:>12.2f}"
              f"{'':>18}   ({p.failed_pct:.1f}% of attempted transactions failed)")
    for o in outcomes:
        failed = f"   failures: {o.failures}" if o.failures else ""
        print(f"round {number}: {o.label:<52}{o.per_second:>12.1f}{o.retry_rate:>12.2f}"
              f"{o.percentile(0.5):>9.1f}{o.percentile(0.95):>9.1f}{failed}")


def _print_summary(rounds: list[tuple[list[PgbenchResult], list[Outcome]]], clients: int) -> None:
    print()
    print(f"Ratios transfers/s : pgbench tps ({clients} clients each, same server, measured "
          f"back to back in each round; median over {len(rounds)} round(s)):")
    pgbench_labels = [p.label for p in rounds[0][0]]
    outcome_labels = [o.label for o in rounds[0][1]]
    for oi, o_label in enumerate(outcome_labels):
        per_second = statistics.median(r[1][oi].per_second for r in rounds)
        retry = statistics.median(r[1][oi].retry_rate for r in rounds)
        print(f"  {o_label}: {per_second:.1f} transfers/s, {2 * per_second:.1f} commands/s, "
              f"{retry:.3f} retries per command")
        for pi, p_label in enumerate(pgbench_labels):
            ratios = [r[1][oi].per_second / r[0][pi].tps for r in rounds if r[0][pi].tps]
            ratio = statistics.median(ratios) if ratios else float("nan")
            verdict = "meets" if ratio >= 0.5 else "below"
            print(f"      vs {p_label} ({statistics.median(r[0][pi].tps for r in rounds):.1f} tps): "
                  f"{ratio:.2f}  [{verdict} the 0.5 target]")
    print("A transfer is two SERIALIZABLE commands (create, receive), each with an idempotency "
          "key, four ledger rows in all; a pgbench TPC-B transaction is five statements.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=15, help="duration of each run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="repeat all four runs this many times (the machine may be shared)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--locations", type=int, default=30)
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--pgbench-scale", type=int, default=1,
                        help="pgbench -i scale factor (default 1, as plain `pgbench -i`)")


def _one_round(port: int, seconds: float, clients: int, scale: int, location_ids: list[str],
               skus: list[str]) -> tuple[list[PgbenchResult], list[Outcome]]:
    print(f"  pgbench TPC-B, server default isolation (SERIALIZABLE), {seconds:.0f} s ...",
          flush=True)
    pgbench = [run_pgbench(port, seconds, clients,
                           f"pgbench TPC-B, server default: serializable (s={scale})",
                           isolation=None, scale=scale)]
    print(f"  transfers, uniform SKUs, {seconds:.0f} s ...", flush=True)
    outcomes = [run_transfers("transfers (create+receive), uniform", seconds, clients,
                              location_ids, skus)]
    print(f"  pgbench TPC-B, READ COMMITTED, {seconds:.0f} s ...", flush=True)
    pgbench.append(run_pgbench(port, seconds, clients, f"pgbench TPC-B, read committed (s={scale})",
                               isolation="read committed", scale=scale))
    print(f"  transfers, hot spot, {seconds:.0f} s ...", flush=True)
    outcomes.append(run_transfers("transfers (create+receive), hot 80%->1% SKUs", seconds,
                                  clients, location_ids, skus, hot_fraction=0.01))
    return pgbench, outcomes


def run(args) -> int:
    from queries import db as dbmod
    from queries.migrate import migrate
    from stack.ports import free_port
    from stack.postgres import EmbeddedPostgres

    seconds = float(getattr(args, "seconds", 15) or 15)
    rounds = int(getattr(args, "rounds", 2) or 2)
    clients = int(getattr(args, "clients", 8) or 8)
    locations = int(getattr(args, "locations", 30) or 30)
    skus = int(getattr(args, "skus", 2000) or 2000)
    scale = int(getattr(args, "pgbench_scale", 1) or 1)

    with tempfile.TemporaryDirectory(prefix="stockroom-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp), free_port())
        print(f"starting embedded PostgreSQL on port {server.port} in {tmp} ...", flush=True)
        server.start()
        previous_url = os.environ.get("DATABASE_URL")
        try:
            with psycopg.connect(server.admin_url(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE pgbench")
            migrate(server.url)
            os.environ["DATABASE_URL"] = server.url
            print(f"loading {locations} locations x {skus} SKUs of stock ...", flush=True)
            location_ids, sku_list = _setup(locations, skus, on_hand=1_000_000)
            results = []
            for number in range(1, rounds + 1):
                print(f"round {number} of {rounds} ({clients} clients each):", flush=True)
                results.append(_one_round(server.port, seconds, clients, scale, location_ids,
                                          sku_list))
            for number, (pgbench, outcomes) in enumerate(results, start=1):
                _print_round(number, pgbench, outcomes)
            _print_summary(results, clients)
            from queries.invariants import check_invariants

            report = check_invariants()
            print(f"invariants after the run: {'all hold' if report.ok else 'VIOLATED'} "
                  f"({len(report.violations)} violations, checked in {report.seconds:.2f} s)")
            return 0 if report.ok else 1
        finally:
            dbmod.close_pools()
            server.stop()
            if previous_url is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = previous_url


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
