"""Every page for every role through AppTest, next to the same page's SQL run directly; and the
Overview for ten concurrent viewers.

    python manage.py bench pages                  # --scale large: seeds once, then reuses it
    python manage.py bench pages --scale small --renders 5
    python manage.py bench pages --pages overview,orders --roles hq_viewer,admin
    python manage.py bench pages --pages overview --query region=EU --query category=Toys

Data. An embedded PostgreSQL kept in --data-dir (default: ~/.cache/stockroom/bench-<scale>, as
root /var/tmp/stockroom-bench/<scale>) is seeded on the first run (`stack.seed`: large is
2,000,000 stock rows and 1,000,000 orders, and takes minutes; a progress bar shows it) and
reused by later runs (--reseed seeds again). The server runs with pg_stat_statements.

Pages and roles come from components/navigation.py (PAGES and each page's roles), so a new or
rewritten page is measured as it is. Each role is the seed's demo account for it (hq and admin
see every region, manager and support one region, EU).

Per page and role, in one AppTest session (the real dashboard.py, navigation and page):
  cold      the switch to the page in a new session, st.cache_data empty: the first render.
  uncached  --renders reruns (what any click triggers) with st.cache_data cleared before each:
            every read of the page goes to the database, the honest cost of the page.
  cached    a rerun right after each uncached one: st.cache_data (15 s ttl) answers what it
            holds, what a second viewer within the ttl, or the next click, waits.
  SQL       inside the uncached renders, the captured statements' own durations summed (the
            application's round trips, pool and transactions included): render − SQL is
            Streamlit and Python.
  queries   the SQL statements the last uncached render sent (captured by wrapping psycopg's
            Cursor.execute in this process, with their parameters) run again directly, in the
            same order, through one psycopg connection (each round one transaction, rolled
            back), --renders times. No Streamlit, no pool, no Python around them.
  ratio     uncached render p50 ÷ queries p50: what the page adds on top of its SQL.
The statement counts are per render (uncached; cached in brackets).

Ten viewers: --viewers sessions (hq_viewer, each already on the Overview) rerun the Overview at
the same moment (threads: AppTest runs the script in-process, as the server runs a thread per
session, sharing one st.cache_data), cache cleared first; then one session alone, likewise.
The database time each caused is pg_stat_statements' total_exec_time + total_plan_time of the
statements run meanwhile (reset before), and, from the client side, the captured statements'
summed durations. A round during which the application's background workers (the rollup
refresher) sent statements is done again. Median of --viewer-rounds rounds; the ratio is
ten ÷ one.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.app_render import (
    check,
    clear_cached_reads,
    go_to,
    ms,
    new_session,
    p50,
    p95,
    timed_run,
)
from bench.seeded_server import default_data_dir, seeded_server
from bench.statement_capture import Replay, Statement, StatementCapture, replay_statements
from queries.actor import ROLES, Actor
from stack.seed import DEMO_ACCOUNTS, SCALES

ROOT = Path(__file__).resolve().parent.parent
# pg_stat_statements for the database-time figures; room for the seed's load.
SERVER_SETTINGS = {
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track_planning": "on",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "1h",
}
OVERVIEW = "pages/overview.py"
# The targets (issue 12, "Fast for everyone"), at the large scale on this machine.
TARGET_OVERVIEW_P95 = 0.300
TARGET_HQ_QUERY_P95 = 0.100
TARGET_RATIO = 1.3
TARGET_VIEWERS_RATIO = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=sorted(SCALES), default="large",
                        help="data scale (default large: 2 M stock rows, 1 M orders)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the seeded server is kept between runs (default "
                             f"{default_data_dir('<scale>')})")
    parser.add_argument("--reseed", action="store_true", help="seed again even if seeded")
    parser.add_argument("--seed", type=int, default=42, help="the seed's random seed")
    parser.add_argument("--renders", type=int, default=20,
                        help="cached renders, uncached renders and query rounds per page and "
                             "role (default 20)")
    parser.add_argument("--viewers", type=int, default=10,
                        help="concurrent Overview sessions (default 10; 0 skips)")
    parser.add_argument("--viewer-rounds", type=int, default=3,
                        help="rounds of the concurrent-viewers measure (median; default 3)")
    parser.add_argument("--pages", default="",
                        help="only these pages, by url path (e.g. overview,orders)")
    parser.add_argument("--roles", default="", help="only these roles (e.g. hq_viewer,admin)")
    parser.add_argument("--query", action="append", default=[], type=_key_value,
                        metavar="KEY=VALUE",
                        help="a URL query parameter every page is opened with, as a bookmark "
                             "carries it (e.g. the Overview's filters: --query region=EU); "
                             "repeatable. The landing page (Overview) sees it from the first "
                             "run, other pages from the rerun after the switch")


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


# ----------------------------------------------------------------------------- who and what


def demo_actors() -> dict[str, Actor]:
    """One actor per role: the seed's demo account for it (regional roles have one region)."""
    actors = {}
    for username, _password, role, regions, display_name in DEMO_ACCOUNTS:
        actors.setdefault(role, Actor(username, role, tuple(regions), display_name))
    for role in ROLES:  # a role without a demo account: one region, as regional roles have
        actors.setdefault(role, Actor(role, role, ("EU",), role))
    return {role: actors[role] for role in ROLES}


def page_specs(only: set[str]) -> list:
    """The pages navigation offers (path, title, roles), in its order; warns about files in
    pages/ that navigation does not list (nobody can reach them, so they are not measured)."""
    from components.navigation import PAGES

    listed = {spec.path for spec in PAGES}
    for path in sorted(ROOT.glob("pages/*.py")):
        relative = f"pages/{path.name}"
        if relative not in listed:
            print(f"note: {relative} is not in components/navigation.py PAGES; not measured",
                  file=sys.stderr)
    unknown = only - {spec.url_path for spec in PAGES}
    if unknown:
        raise SystemExit(f"error: no page named {', '.join(sorted(unknown))}")
    return [spec for spec in PAGES if not only or spec.url_path in only]


def actor_label(actor: Actor) -> str:
    return f"{actor.role} ({', '.join(actor.regions) if actor.regions else 'all'})"


# ----------------------------------------------------------------------------- one page, one role


@dataclass
class PageResult:
    title: str
    path: str
    actor: Actor
    cold: float
    cached: list[float] = field(default_factory=list)
    uncached: list[float] = field(default_factory=list)
    cached_statements: list[int] = field(default_factory=list)
    uncached_statements: list[int] = field(default_factory=list)
    in_app_query_seconds: list[float] = field(default_factory=list)  # captured, per uncached
    replay: Replay | None = None

    @property
    def ratio(self) -> float | None:
        if not self.replay or not self.replay.statements:
            return None
        return p50(self.uncached) / p50(self.replay.rounds)

    def slowest_statement(self) -> tuple[Statement, list[float]] | None:
        if not self.replay or not self.replay.statements:
            return None
        index = max(range(len(self.replay.statements)),
                    key=lambda i: p95(self.replay.per_statement[i]))
        return self.replay.statements[index], self.replay.per_statement[index]


def measure_page(spec, actor: Actor, renders: int, url: str,
                 query: dict[str, str] | None = None) -> PageResult:
    at = new_session(actor, query=query)
    clear_cached_reads()
    cold = go_to(at, spec.path, query)
    result = PageResult(spec.title, spec.path, actor, cold)
    timed_run(at, spec.path)  # not counted: the first rerun still pays one-off costs
    statements: list[Statement] = []
    for _ in range(renders):
        # Uncached, then cached right after it (well inside the 15 s ttl): in turn, so that
        # neither figure gets the machine's quieter or busier minutes.
        clear_cached_reads()
        with StatementCapture() as captured:
            result.uncached.append(timed_run(at, spec.path))
        result.uncached_statements.append(len(captured.statements))
        result.in_app_query_seconds.append(captured.seconds)
        statements = captured.statements
        with StatementCapture() as captured:
            result.cached.append(timed_run(at, spec.path))
        result.cached_statements.append(len(captured.statements))
    result.replay = replay_statements(url, statements, renders)
    for statement, error in result.replay.failed:
        print(f"  note: a statement of {spec.title} failed when run directly and is left out: "
              f"{statement.label()} ({error.splitlines()[0]})", file=sys.stderr)
    return result


# ----------------------------------------------------------------------------- concurrent viewers


class ServerStats:
    """Database time from pg_stat_statements (execution + planning), if the server has it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.available = False
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
            self.available = True
        except psycopg.Error as exc:
            print(f"note: pg_stat_statements is not available ({exc}); database time is "
                  "measured from the client side only", file=sys.stderr)

    def reset(self) -> None:
        if self.available:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("SELECT pg_stat_statements_reset()")

    def seconds(self) -> tuple[float, int] | None:
        """Database time and calls since the last reset, leaving out these measurements' own."""
        if not self.available:
            return None
        with psycopg.connect(self.url, autocommit=True) as conn:
            total, calls = conn.execute(
                "SELECT coalesce(sum(total_exec_time + total_plan_time), 0), "
                "       coalesce(sum(calls), 0)"
                "  FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                "   AND query NOT ILIKE '%pg_stat_statements%'").fetchone()
        return float(total) / 1000, int(calls)


@dataclass
class ViewerRound:
    wall: float                    # until every session had rendered
    server: tuple[float, int] | None
    client: float                  # captured statements' durations, summed
    statements: int
    background: int = 0            # statements of background workers meanwhile


def render_together(sessions: list, page: str, stats: ServerStats) -> ViewerRound:
    """Rerun every session's page at the same moment, st.cache_data cleared first."""
    barrier = threading.Barrier(len(sessions))
    errors: list[BaseException] = []

    def render(at) -> None:
        try:
            barrier.wait()
            at.run()
            check(at, page)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    clear_cached_reads()
    stats.reset()
    threads = [threading.Thread(target=render, args=(at,), name=f"viewer-{i}")
               for i, at in enumerate(sessions)]
    with StatementCapture() as captured:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a viewer's render failed: {errors[0]}") from errors[0]
    return ViewerRound(wall, stats.seconds(), captured.seconds, len(captured.statements),
                       len(captured.background))


def render_together_quietly(sessions: list, page: str, stats: ServerStats,
                            tries: int = 3) -> ViewerRound:
    """render_together, done again (up to `tries` times) when the application's background
    workers (the rollup refresher) sent statements meanwhile: the database time would be
    theirs as much as the viewers'."""
    for _ in range(tries):
        result = render_together(sessions, page, stats)
        if not result.background:
            break
    return result


def measure_viewers(actor: Actor, viewers: int, rounds: int, url: str,
                    query: dict[str, str] | None = None,
                    page: str = OVERVIEW) -> tuple[list[ViewerRound], list[ViewerRound]]:
    from streamlit.testing.v1.util import patch_config_options

    stats = ServerStats(url)
    sessions = [new_session(actor, query=query) for _ in range(viewers)]
    for at in sessions:
        go_to(at, page, query)
    one, many = [], []
    # AppTest patches config.get_option for each run and restores it after; overlapping runs
    # restore each other's patches. Holding the same patch around all of them keeps every
    # restore equivalent, and the original comes back at the end.
    with patch_config_options({"global.appTest": True}):
        for _ in range(rounds):
            one.append(render_together_quietly(sessions[:1], page, stats))
            many.append(render_together_quietly(sessions, page, stats))
    return one, many


# ----------------------------------------------------------------------------- report


def _pair(values: list[float]) -> str:
    return f"{ms(p50(values))} / {ms(p95(values))}".replace(" ms /", " /")


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(results: list[PageResult], viewers: tuple[list[ViewerRound], list[ViewerRound]] | None,
           scale: str, renders: int, n_viewers: int, query: dict[str, str] | None = None,
           out=sys.stdout) -> None:
    filters = ("URL query " + "&".join(f"{k}={v}" for k, v in query.items())
               if query else "no URL query parameters (default filters)")
    print(f"\nPages through AppTest at --scale {scale}, {filters}: p50 / p95 of {renders} "
          "renders; queries = the render's SQL run directly on the same server", file=out)
    head = (f"{'page':<11} {'role':<24} {'stmts':>8} {'cold':>10} {'cached p50 / p95':>21} "
            f"{'uncached p50 / p95':>21} {'SQL p50':>10} {'queries p50 / p95':>21} "
            f"{'slowest stmt':>13} {'ratio':>6}")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in results:
        replay = r.replay
        queries = _pair(replay.rounds) if replay and replay.statements else "—"
        slowest = r.slowest_statement()
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "—"
        stmts = f"{max(r.uncached_statements)} ({max(r.cached_statements)})"
        print(f"{r.title:<11} {actor_label(r.actor):<24} {stmts:>8} {ms(r.cold):>10} "
              f"{_pair(r.cached):>21} {_pair(r.uncached):>21} "
              f"{ms(p50(r.in_app_query_seconds)):>10} {queries:>21} "
              f"{ms(p95(slowest[1])) if slowest else '—':>13} {ratio:>6}", file=out)
    print("stmts: statements per uncached render (per cached render). SQL: the statements' time "
          "inside an uncached render.\nqueries: the same statements run directly; slowest stmt: "
          "the p95 of the slowest of them. ratio: uncached render p50 / queries p50.", file=out)

    overview = [r for r in results if r.path == OVERVIEW]
    for r in overview:
        if r.actor.role != "hq_viewer" or not r.replay:
            continue
        print(f"\nOverview's statements for {actor_label(r.actor)}, run directly "
              f"(p50 / p95 of {renders}):", file=out)
        for statement, seconds in zip(r.replay.statements, r.replay.per_statement, strict=True):
            flag = "" if p95(seconds) <= TARGET_HQ_QUERY_P95 else "  > 100 ms"
            print(f"  {_pair(seconds):>23}  {statement.label(90)}{flag}", file=out)

    one, many = viewers if viewers else ([], [])
    if one:
        def server(rounds: list[ViewerRound]) -> float | None:
            figures = [r.server[0] for r in rounds if r.server]
            return p50(figures) if figures else None

        print(f"\nOverview, {n_viewers} concurrent viewers (hq_viewer) vs one, st.cache_data "
              f"cleared first; median of {len(one)} rounds:", file=out)
        print(f"  {'':<10} {'wall':>11} {'DB time (pg_stat_statements)':>30} "
              f"{'statement time (client)':>25} {'statements':>11}", file=out)
        for label, rounds in (("1 viewer", one), (f"{n_viewers} viewers", many)):
            print(f"  {label:<10} {ms(p50([r.wall for r in rounds])):>11} "
                  f"{ms(server(rounds)):>30} {ms(p50([r.client for r in rounds])):>25} "
                  f"{p50([r.statements for r in rounds]):>11g}", file=out)
        noisy = sum(1 for r in one + many if r.background)
        if noisy:
            print(f"  ({noisy} round(s) overlapped a background refresh even after retries: "
                  "their DB time includes it)", file=out)
        viewers_ratio = None
        if server(one) and server(many) is not None:
            viewers_ratio = server(many) / server(one)
        client_ratio = p50([r.client for r in many]) / max(p50([r.client for r in one]), 1e-9)
        print(f"  ratio {n_viewers} ÷ 1: DB time "
              f"{f'{viewers_ratio:.2f}×' if viewers_ratio is not None else '—'}, "
              f"client statement time {client_ratio:.2f}×", file=out)
    else:
        viewers_ratio = None

    print(f"\nTargets (issue 12, at --scale large on this machine; measured at --scale {scale}):",
          file=out)
    for r in overview:
        print(f"  Overview p95 <= 300 ms ({actor_label(r.actor)}): cached "
              f"{ms(p95(r.cached))} {_mark(p95(r.cached) <= TARGET_OVERVIEW_P95)}, uncached "
              f"{ms(p95(r.uncached))} {_mark(p95(r.uncached) <= TARGET_OVERVIEW_P95)}", file=out)
    hq = [r for r in overview if r.actor.role == "hq_viewer" and r.slowest_statement()]
    for r in hq:
        statement, seconds = r.slowest_statement()
        print(f"  every HQ query p95 <= 100 ms: slowest {ms(p95(seconds))} "
              f"{_mark(p95(seconds) <= TARGET_HQ_QUERY_P95)} ({statement.label(60)})", file=out)
    for r in results:
        if r.ratio is not None:
            print(f"  render <= 1.3x its queries, {r.title} / {actor_label(r.actor)}: "
                  f"{r.ratio:.2f} {_mark(r.ratio <= TARGET_RATIO)}", file=out)
    if viewers_ratio is not None:
        print(f"  {n_viewers} viewers cost the database <= 2x one: {viewers_ratio:.2f}x "
              f"{_mark(viewers_ratio <= TARGET_VIEWERS_RATIO)}", file=out)


# ----------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    warnings.filterwarnings("ignore")
    # Clearing st.cache_data outside a script run makes Streamlit log two warnings each time
    # (and AppTest resets Streamlit's own log level): only errors are logged.
    logging.disable(logging.WARNING)
    only_pages = {p.strip() for p in args.pages.split(",") if p.strip()}
    only_roles = {r.strip() for r in args.roles.split(",") if r.strip()}
    if only_roles - set(ROLES):
        print(f"error: roles are {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if args.renders < 1:
        print("error: --renders must be at least 1", file=sys.stderr)
        return 2
    query = dict(args.query)
    specs = page_specs(only_pages)
    actors = demo_actors()
    data_dir = args.data_dir or default_data_dir(args.scale)
    started = time.perf_counter()
    with seeded_server(args.scale, data_dir=data_dir, seed_value=args.seed,
                       settings=SERVER_SETTINGS, reseed=args.reseed) as server:
        print(f"PostgreSQL on port {server.port}, ready in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        results, failures = [], []
        for spec in specs:
            for role in ROLES:
                if role not in spec.roles or (only_roles and role not in only_roles):
                    continue
                began = time.perf_counter()
                try:
                    result = measure_page(spec, actors[role], args.renders, server.url,
                                          query)
                except RuntimeError as exc:  # the page raised: say so, measure the others
                    failures.append(f"{spec.title} as {actor_label(actors[role])}: {exc}")
                    print(f"  {failures[-1]}", file=sys.stderr)
                    continue
                results.append(result)
                print(f"  {spec.title} as {actor_label(actors[role])}: uncached p50 "
                      f"{ms(p50(result.uncached))} ({time.perf_counter() - began:.0f} s)",
                      file=sys.stderr)
        viewers = None
        if args.viewers > 0 and not (only_pages and "overview" not in only_pages):
            try:
                viewers = measure_viewers(actors["hq_viewer"], args.viewers, args.viewer_rounds,
                                          server.url, query)
            except RuntimeError as exc:
                failures.append(f"{args.viewers} Overview viewers: {exc}")
        report(results, viewers, args.scale, args.renders, args.viewers, query)
    for failure in failures:
        print(f"\nFAILED, not measured: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    from bench.cli import benchmark_parser

    options = benchmark_parser("pages", sys.modules[__name__]).parse_args()
    options.options = dict(options.option_pairs or [])
    sys.exit(run(options))
