"""`python manage.py soak`: holiday traffic under injected faults — is anything lost?

    python manage.py soak [--seconds 600] [--rate 10] [--workers 4] [--seed N]
                          [--scale tiny|small] [--fault-every S] [--keep]

Starts a throwaway embedded stack in a temporary directory on free ports (PostgreSQL, Tansu,
migrations, a seed, and the relay and the worker as real subprocesses, exactly as `manage.py
up` starts them), runs the holiday traffic profile (stack.simulate.run_traffic) in this process,
and meanwhile injects one fault every --fault-every seconds, round robin:

1. broker-restart   the broker stops and starts: it keeps nothing, every topic is gone
2. relay-kill       SIGKILL of the relay; a supervisor starts it again about 1 s later
3. pg-terminate     pg_terminate_backend of every client connection (a drain, a failover)
4. worker-kill      SIGKILL of the worker; started again about 1 s later
5. pg-restart       PostgreSQL's own fast restart (pg_ctl restart -m fast)

The broker restart comes first in each round on purpose: the relay answers it by re-emitting
every row, which would also repair anything an earlier fault had lost from the topics. With
the default interval the run ends on a whole round, so the final stream check covers every
other kind of fault after the last broker restart; the table names the kinds it covers.

Then it stops the traffic, lets the relay catch up (its slot confirms everything written),
stops the worker, checks every invariant (queries.invariants) and verifies the change stream
(changefeed.stream_check: the newest message of every key equals its row), prints a table and
exits 1 unless there are no invariant violations and no lost changes. Every fault targets only
what the soak itself started; the temporary directory (logs included) is removed at the end
unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from changefeed.stream_check import StreamCheck, check_stream, wait_until_caught_up
from queries import replication
from queries import soak as soak_queries
from stack.broker import EmbeddedBroker
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from stack.processes import BACKGROUND, ManagedProcess, is_alive

SLOT = "stockroom_cdc_soak"
FAULTS = ("broker-restart", "relay-kill", "pg-terminate", "worker-kill", "pg-restart")
FAULT_LABELS = {
    "relay-kill": "relay SIGKILLed, restarted",
    "broker-restart": "broker restarted (topics lost)",
    "pg-terminate": "client connections terminated",
    "worker-kill": "worker SIGKILLed, restarted",
    "pg-restart": "PostgreSQL restarted",
}
PROCESSES = ("relay", "worker")
RESTART_AFTER = 1.0            # seconds between a SIGKILL and the supervisor's restart
MAX_FAULT_EVERY = 60.0


def default_fault_every(seconds: float) -> float:
    """Every kind twice in the run (10 faults, evenly spread), but at least once a minute."""
    return max(1.0, min(MAX_FAULT_EVERY, seconds / (2 * len(FAULTS) + 1)))


def add_arguments_soak_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="how long the traffic runs (default 600)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="base order placements per second of the holiday profile (default 10)")
    parser.add_argument("--workers", type=int, default=4, help="traffic threads (default 4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for data and traffic")
    parser.add_argument("--scale", choices=("tiny", "small"), default="small",
                        help="demo data to start from (default small)")
    parser.add_argument("--fault-every", type=float, default=None,
                        help="seconds between faults (default: the run / 11, at most 60, so "
                             "every kind happens at least twice)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (logs, data) for inspection")


@dataclass
class SoakOptions:
    seconds: float = 600.0
    rate: float = 10.0
    workers: int = 4
    seed: int | None = None
    scale: str = "small"
    fault_every: float | None = None
    keep: bool = False
    status_every: float = 10.0

    @property
    def fault_interval(self) -> float:
        return self.fault_every if self.fault_every else default_fault_every(self.seconds)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SoakOptions:
        return cls(seconds=args.seconds, rate=args.rate, workers=args.workers, seed=args.seed,
                   scale=args.scale, fault_every=args.fault_every, keep=args.keep)


@dataclass
class Fault:
    kind: str
    at: float                  # seconds since the traffic started
    took: float                # seconds the injection (and the supervisor's restart) took
    detail: str = ""
    error: str | None = None   # the injection itself failed


@dataclass
class SoakResult:
    options: SoakOptions
    directory: Path
    faults: list[Fault] = field(default_factory=list)
    traffic: object | None = None          # stack.simulate.TrafficReport
    traffic_error: str | None = None
    pool_unavailable_seconds: float | None = None
    unexpected_exits: Counter = field(default_factory=Counter)
    exit_notes: list[str] = field(default_factory=list)
    caught_up: bool = False
    violations: int | None = None
    violation_lines: list[str] = field(default_factory=list)
    stream: StreamCheck | None = None
    stream_passes: int = 0
    first_pass_lost: int | None = None
    log_tracebacks: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    error: str | None = None               # the soak itself could not go on

    @property
    def lost(self) -> int | None:
        if self.stream is None:
            return None
        return self.stream.lost

    @property
    def ok(self) -> bool:
        """No violations and no lost changes, after a run whose traffic did not fail."""
        return (not self.interrupted and self.error is None and self.traffic_error is None
                and self.violations == 0 and self.stream is not None and self.stream.ok)


class SoakStack:
    """The throwaway stack: PostgreSQL, Tansu, relay and worker, all under one directory."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.postgres = EmbeddedPostgres(directory, free_port())
        self.broker = EmbeddedBroker(directory, free_port())
        self.processes: dict[str, ManagedProcess] = {
            p.name: p for p in BACKGROUND if p.name in PROCESSES}
        missing = [name for name in PROCESSES if name not in self.processes]
        if missing:
            raise RuntimeError(f"stack.processes.BACKGROUND has no {', '.join(missing)}")
        self.stopped: set[str] = set()  # stopped on purpose (the worker, before the checks)

    @property
    def url(self) -> str:
        return self.postgres.url

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "STOCKROOM_TOPIC_PREFIX": "",
            "STOCKROOM_CDC_SLOT": SLOT,
            "STOCKROOM_RESOLVED_INTERVAL": "0.5",
            "STOCKROOM_RELAY_POLL": "0.02",
            "STOCKROOM_WORKER_POLL_INTERVAL_MS": "3000",
        }

    def start_servers(self) -> None:
        self.postgres.start()
        self.broker.start()

    def start_process(self, name: str) -> int:
        return self.processes[name].start(self.directory, self.env())

    def pid(self, name: str) -> int | None:
        return self.processes[name].pid(self.directory)

    def kill(self, name: str) -> int | None:
        """SIGKILL the process (no clean-up of any kind) and wait until it is gone."""
        pid = self.pid(name)
        if pid is None:
            return None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        return pid

    def stop_process(self, name: str) -> None:
        self.stopped.add(name)
        self.processes[name].stop(self.directory)

    def stop(self) -> None:
        """Stop everything; each step on its own, so one failure does not leave the rest."""
        for name in reversed(PROCESSES):
            try:
                self.processes[name].stop(self.directory)
            except Exception:  # noqa: BLE001 - best effort, then SIGKILL below
                pid = self.pid(name)
                if pid:
                    os.kill(pid, signal.SIGKILL)
        for server in (self.broker, self.postgres):
            try:
                server.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"warning: could not stop {type(server).__name__}: {exc}", file=sys.stderr)

    def log_file(self, name: str) -> Path:
        return self.processes[name].log_file(self.directory)


class Faults:
    """The five faults, each against the soak's own stack only."""

    def __init__(self, stack: SoakStack):
        self.stack = stack

    def inject(self, kind: str) -> str:
        return getattr(self, kind.replace("-", "_"))()

    def _kill_and_restart(self, name: str) -> str:
        pid = self.stack.kill(name)
        time.sleep(RESTART_AFTER)
        new_pid = self.stack.start_process(name)
        return f"pid {pid} killed, pid {new_pid} started"

    def relay_kill(self) -> str:
        return self._kill_and_restart("relay")

    def worker_kill(self) -> str:
        return self._kill_and_restart("worker")

    def broker_restart(self) -> str:
        self.stack.broker.stop()
        self.stack.broker.start()
        return f"broker on {self.stack.bootstrap} started empty"

    def pg_terminate(self) -> str:
        return f"{soak_queries.terminate_client_connections(self.stack.url)} connection(s) terminated"

    def pg_restart(self) -> str:
        self.stack.postgres.restart()
        return f"PostgreSQL on port {self.stack.postgres.port} restarted"


def slot_lag(url: str) -> str:
    """The relay slot's unconfirmed WAL, for the status line ("?" while unreachable)."""
    try:
        with replication.connect(url, application_name="stockroom-soak") as conn:
            status = replication.slot_status(conn, SLOT)
    except psycopg.Error:
        return "?"
    if status is None:
        return "no slot"
    return f"{(status['lag_bytes'] or 0) / 1024:.1f} kB"


def _count_tracebacks(path: Path) -> int:
    try:
        return path.read_text(errors="replace").count("Traceback (most recent call last)")
    except OSError:
        return 0


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _load_traffic() -> Callable:
    from stack.simulate import run_traffic

    return run_traffic


class Soak:
    def __init__(self, options: SoakOptions, out=sys.stdout, traffic: Callable | None = None):
        self.options = options
        self.out = out
        self.traffic = traffic
        directory = Path(tempfile.mkdtemp(prefix="stockroom-soak-"))
        self.result = SoakResult(options, directory)
        self.stack = SoakStack(directory)
        self.stop_traffic = threading.Event()
        self._started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self._started:6.1f}s] {text}", file=self.out, flush=True)

    # ---- phases -----------------------------------------------------------------------------

    def set_up(self) -> None:
        from queries.migrate import migrate
        from stack.seed import seed

        stack = self.stack
        stack.start_servers()
        self.say(f"PostgreSQL on {stack.postgres.port}, broker on {stack.bootstrap}, "
                 f"in {stack.directory}")
        migrate(stack.url)
        counts = seed(stack.url, self.options.scale, seed=self._seed())
        self.say(f"seeded ({self.options.scale}): " + ", ".join(
            f"{table} {n}" for table, n in counts.items() if n))
        for name in PROCESSES:
            stack.start_process(name)
        if not wait_until_caught_up(stack.url, SLOT, timeout=120):
            raise RuntimeError(f"the relay did not finish its first scan; see {stack.log_file('relay')}")
        self.say("relay and worker running; the relay's first scan is on the topics")

    def _seed(self) -> int:
        return 42 if self.options.seed is None else self.options.seed

    def supervise(self) -> None:
        """Restart a relay or worker that exited on its own, and count it: they should not."""
        for name in PROCESSES:
            if name in self.stack.stopped or self.stack.pid(name) is not None:
                continue
            log = self.stack.log_file(name)
            self.result.unexpected_exits[name] += 1
            self.result.exit_notes.append(f"{name} exited by itself; log tail: {_tail(log)}")
            self.say(f"{name} exited by itself (not a fault of ours); restarting. Log: {log}")
            try:
                self.stack.start_process(name)
            except RuntimeError as exc:
                self.say(f"{name} did not start again: {exc}")

    def run_faults(self, traffic_thread: threading.Thread) -> None:
        interval = self.options.fault_interval
        started = time.monotonic()
        next_fault, next_status, count = interval, self.options.status_every, 0
        from queries.db import retry_stats

        base_transactions, base_retries = retry_stats.transactions, retry_stats.retries
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= self.options.seconds or not traffic_thread.is_alive():
                break
            if elapsed >= next_fault:
                kind = FAULTS[count % len(FAULTS)]
                count += 1
                began = time.monotonic()
                try:
                    detail, error = self.faults.inject(kind), None
                except Exception as exc:  # noqa: BLE001 - recorded and reported
                    detail, error = "", f"{type(exc).__name__}: {exc}"
                fault = Fault(kind, round(elapsed, 1), time.monotonic() - began, detail, error)
                self.result.faults.append(fault)
                self.say(f"fault {count}: {FAULT_LABELS[kind]} — "
                         + (f"{detail} (took {fault.took:.1f} s)" if error is None
                            else f"FAILED to inject: {error}"))
                # Keep the schedule, but leave the stack a moment between two faults.
                next_fault = max(next_fault + interval, time.monotonic() - started + 1.0)
            elif elapsed >= next_status:
                up = ", ".join(f"{n} {'up' if self.stack.pid(n) else 'DOWN'}" for n in PROCESSES)
                self.say(f"status: {retry_stats.transactions - base_transactions} transactions, "
                         f"{retry_stats.retries - base_retries} retries, relay lag "
                         f"{slot_lag(self.stack.url)}, {up}, {len(self.result.faults)} faults")
                next_status = elapsed + self.options.status_every
            self.supervise()
            time.sleep(min(0.2, max(0.0, min(next_fault, next_status) - elapsed)))

    def settle_and_verify(self) -> None:
        from queries.invariants import check_invariants

        stack, result = self.stack, self.result
        self.supervise()
        self.say("traffic stopped; waiting for the relay to confirm everything")
        result.caught_up = wait_until_caught_up(stack.url, SLOT, timeout=180)
        # The worker writes too (back-orders, suggestions): stop it, then catch up once more.
        stack.stop_process("worker")
        result.caught_up = wait_until_caught_up(stack.url, SLOT, timeout=120) and result.caught_up
        self.say("caught up" if result.caught_up else "the relay did NOT catch up in time")
        for attempt in range(3):
            try:
                report = check_invariants(url=stack.url)
                break
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise
                self.say(f"invariant check: {type(exc).__name__}; trying again")
                time.sleep(1)
        result.violations = len(report.violations)
        result.violation_lines = [v.sentence() for v in report.violations[:10]]
        # A difference still in flight clears on the next pass; a lost change never does.
        for result.stream_passes in range(1, 4):
            result.stream = check_stream(stack.url, stack.bootstrap, timeout=180)
            if result.first_pass_lost is None:
                result.first_pass_lost = result.stream.lost
            if result.stream.ok:
                break
            self.say(f"stream check pass {result.stream_passes}: {result.stream.lost} "
                     f"difference(s); waiting for the relay and checking again")
            wait_until_caught_up(stack.url, SLOT, timeout=60)
            time.sleep(1.0)
        for name in PROCESSES:
            result.log_tracebacks[name] = _count_tracebacks(stack.log_file(name))

    def run(self) -> SoakResult:
        options, result = self.options, self.result
        saved_env = {k: os.environ.get(k) for k in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
        traffic_log = None
        thread = None
        try:
            self.set_up()
            self.faults = Faults(self.stack)
            os.environ["DATABASE_URL"] = self.stack.url
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = self.stack.bootstrap
            run_traffic = self.traffic or _load_traffic()
            traffic_log = open(self.stack.directory / "traffic.log", "w")
            self.say(f"holiday traffic: {options.seconds:g} s at base rate {options.rate:g}/s, "
                     f"{options.workers} workers; a fault every {options.fault_interval:.1f} s")

            def traffic() -> None:
                try:
                    result.traffic = run_traffic(
                        profile="holiday", rate=options.rate, seconds=options.seconds,
                        workers=options.workers, seed=self._seed(), out=traffic_log,
                        stop=self.stop_traffic, interval=options.status_every)
                except BaseException as exc:  # noqa: BLE001 - reported in the table
                    result.traffic_error = f"{type(exc).__name__}: {str(exc).strip()}"

            thread = threading.Thread(target=traffic, name="soak-traffic", daemon=True)
            thread.start()
            self.run_faults(thread)
            self.stop_traffic.set()
            thread.join(120)
            if result.traffic_error:
                self.say(f"traffic failed: {result.traffic_error}")
            self.settle_and_verify()
            from queries.db import retry_stats

            result.pool_unavailable_seconds = getattr(retry_stats, "unavailable_seconds", None)
        except KeyboardInterrupt:
            result.interrupted = True
            self.say("interrupted; stopping everything")
        except Exception as exc:  # noqa: BLE001 - reported in the table, then clean up
            result.error = f"{type(exc).__name__}: {str(exc).strip()}"
            self.say(f"the soak could not go on: {result.error}")
        finally:
            self.stop_traffic.set()
            if thread is not None:
                thread.join(60)
            from queries.db import close_pools

            close_pools()
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            if traffic_log is not None:
                traffic_log.close()
            self.stack.stop()
            if options.keep:
                self.say(f"kept {self.stack.directory}")
            else:
                shutil.rmtree(self.stack.directory, ignore_errors=True)
        return result


# ---- the report --------------------------------------------------------------------------------


def _errors_text(errors: Counter | None) -> str:
    if not errors:
        return "none"
    return ", ".join(f"{name} {n}" for name, n in errors.most_common())


def covered_by_stream_check(faults: list[Fault]) -> list[str]:
    """Kinds of fault whose effect on the stream the final check can still see: the last broker
    restart and everything after it (the relay's re-emission after a broker restart repairs
    the topics, so a loss caused before it would no longer show)."""
    done = [f for f in faults if f.error is None]
    last_reset = max((i for i, f in enumerate(done) if f.kind == "broker-restart"), default=0)
    seen = {f.kind for f in done[last_reset:]}
    return [kind for kind in FAULTS if kind in seen]


def report_lines(result: SoakResult) -> list[str]:
    """The table the soak prints. Tests read it, so keep one `label  value` per line."""
    t = result.traffic
    rows: list[tuple[str, str]] = []
    if t is not None:
        rows += [
            ("operations committed", str(t.total_committed())),
            ("operations attempted", str(t.total_attempted())),
            ("retries", str(t.retries)),
            ("errors", _errors_text(t.errors)),
        ]
    else:
        rows.append(("operations committed", "0 (no traffic report)"))
    if result.error:
        rows.append(("soak failed", result.error))
    if result.traffic_error:
        rows.append(("traffic failed", result.traffic_error))
    counts = Counter(f.kind for f in result.faults if f.error is None)
    for kind in FAULTS:
        rows.append((f"fault {kind}", str(counts[kind])))
    failed = [f for f in result.faults if f.error]
    if failed:
        rows.append(("faults that failed", "; ".join(f"{f.kind}: {f.error}" for f in failed)))
    rows.append(("faults the stream covers", ", ".join(covered_by_stream_check(result.faults))
                 or "none"))
    unavailable = f"{t.unavailable_seconds:.1f} s" if t is not None else "?"
    if result.pool_unavailable_seconds is not None:
        unavailable += f" (traffic), {result.pool_unavailable_seconds:.1f} s (pool)"
    rows.append(("unavailable to clients", unavailable))
    rows.append(("process exits not ours", str(sum(result.unexpected_exits.values()))))
    for name, count in result.log_tracebacks.items():
        rows.append((f"tracebacks in {name}.log", str(count)))
    rows.append(("relay caught up", "yes" if result.caught_up else "NO"))
    rows.append(("invariant violations", "?" if result.violations is None else str(result.violations)))
    if result.stream is None:
        rows.append(("changes lost", "? (not checked)"))
    else:
        passes = f", clean on pass {result.stream_passes}" if result.stream.ok else ""
        incomplete = "" if result.stream.complete else " (topics not read to their end)"
        rows.append(("changes lost", f"{result.stream.lost}{incomplete}"))
        rows.append(("stream messages read", f"{result.stream.messages_read}{passes}"))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label:<{width}}{value}" for label, value in rows]
    lines += [f"  violation: {line}" for line in result.violation_lines]
    lines += [f"  exit: {note}" for note in result.exit_notes]
    if result.stream is not None and not result.stream.ok:
        lines += [f"  stream: {line}" for line in result.stream.summary_lines()]
    lines.append("RESULT: " + ("PASS" if result.ok else "FAIL"))
    return lines


def parse_report(text: str) -> dict[str, str]:
    """`label  value` rows of report_lines back into a dict (for tests and scripts)."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}(\S.*)$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def run_soak(options: SoakOptions, out=sys.stdout, traffic: Callable | None = None) -> SoakResult:
    """Run the soak and print its progress and table to out. `traffic` stands in for
    stack.simulate.run_traffic (same signature) where a caller needs another load."""
    soak = Soak(options, out, traffic)
    result = soak.run()
    if result.traffic is not None and hasattr(result.traffic, "summary_lines"):
        print("traffic:", file=out)
        for line in result.traffic.summary_lines():
            print(f"  {line}", file=out)
    print("", file=out)
    for line in report_lines(result):
        print(line, file=out)
    out.flush()
    return result


def soak_command(args: argparse.Namespace) -> int:
    result = run_soak(SoakOptions.from_args(args))
    if result.interrupted:
        return 130
    return 0 if result.ok else 1
