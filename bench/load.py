"""Load-test one server process over real HTTP/SSE with a 300 ms scripted model.

Run with: python -m bench.load [--quick] [--only conversations|capacity]
                              [--server-processes N] [--rates R1,R2,...]

Starts a scratch demo database and one `uvicorn --factory bench.server:create_bench_app`
process (see bench/server.py for how the slow model is selected), then drives it
from this process. `--server-processes N` starts N such processes on the same
database instead, each with its own embedded help center, and sends each request
to the next one in turn, as a load balancer without affinity would (README,
Scale-out): what more processes add on this machine. The targets are for one.

(a) conversations: 200 concurrent conversations of 5 turns, 2–4 s think time.
    Reports turns/s, the server's CPU ms per turn, p50/p95 of time-to-first-token
    minus model latency (the first reply token comes after 4 model calls: triage's
    handoff, the billing agent's knowledge search, its `explain_charge` call, and
    its reply; 3 on later turns, which start at billing: `one_turn` counts them from
    the stream), event-loop lag and peak RSS of the server, and checks that every
    thread's history holds each message and its reply, in order (zero lost or
    misordered).
(b) capacity: single-turn conversations arriving at a fixed rate (open loop);
    the rate rises step by step until p95 overhead exceeds 150 ms. Each step also
    reports the server's CPU milliseconds per turn (Linux /proc), the cost that
    bounds one process's capacity, and this driver's and Postgres's, which share
    the machine's cores with it. The highest rate that held is reported next
    to the floor: the same open-loop steps against a bare two-node LangGraph
    graph with the same Postgres checkpointer (`TurnCheckpointer`, which runs a
    pool's queries concurrently) and the same per-node model latency, run in
    this process. `--rates` offers only the steps it names (after a warm-up
    that meets each customer's order once, as the full run's low steps do),
    and runs no floor: for comparing builds or process counts near the limit.

Targets (issue 9): (a) p95 overhead ≤ 150 ms, zero lost/misordered;
(b) capacity ≥ half the floor's. Writes `bench/results/load.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from langchain_core.messages import AIMessage, HumanMessage
from psycopg_pool import AsyncConnectionPool

from api.auth import mint_token
from bench.turns import _Bare, _pct
from db.checkpointer import TurnCheckpointer
from db.pool import connection_kwargs
from db.seed import build_orders
from evals.harness import scratch_database
from graph.guarding import WITHHELD

RESULTS = Path(__file__).parent / "results" / "load.json"
SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-only-secret-" + "x" * 32
OVERHEAD_LIMIT_MS = 150.0
CUSTOMERS = 60
"""How many of the demo store's customers the load talks as (cust-001 …)."""
WARM_UP_RATE = 6.0
"""Turns/s of the warm-up before chosen capacity steps (`--rates`)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid`, all its threads; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of proc(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds of each process named `postgres` on this machine, by pid (empty off Linux)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        seconds = process_cpu_seconds(int(entry.name))
        if seconds is not None:
            found[int(entry.name)] = seconds
    return found


class CpuMeter:
    """CPU time of the server processes, this driver and Postgres, from its creation on.

    The machine's cores are shared: when the three together near their count, the
    server waits for a core as well as for its own work. A Postgres backend that
    starts in between counts from zero; one that exits in between is not counted.
    """

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids
        self._server = self._servers()
        self._driver = process_cpu_seconds(os.getpid())
        self._postgres = postgres_cpu_seconds()

    def _servers(self) -> float | None:
        readings = [process_cpu_seconds(pid) for pid in self.server_pids]
        return None if not readings or None in readings else sum(r or 0.0 for r in readings)

    def per_turn(self, turns: int) -> dict[str, float]:
        """CPU ms per turn so far: the server (all its processes), the driver, Postgres.

        Empty without server pids, turns or /proc.
        """
        server, driver = self._servers(), process_cpu_seconds(os.getpid())
        if not turns or server is None or self._server is None:
            return {}
        if driver is None or self._driver is None:
            return {}
        postgres = sum(
            t - self._postgres.get(pid, 0.0) for pid, t in postgres_cpu_seconds().items()
        )
        return {
            "server_cpu_ms_per_turn": round((server - self._server) * 1000 / turns, 1),
            "driver_cpu_ms_per_turn": round((driver - self._driver) * 1000 / turns, 1),
            "postgres_cpu_ms_per_turn": round(postgres * 1000 / turns, 1),
        }


class Server:
    """One uvicorn process serving the bench app on a scratch database."""

    def __init__(self, database_url: str, latency_ms: float, data_dir: str = ".data/eval") -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SWITCHBOARD_ENV": "test",
            "SWITCHBOARD_JWT_SECRET": SECRET,
            "SWITCHBOARD_DATA_DIR": data_dir,
            "SWITCHBOARD_DB_POOL_MAX": "30",
            # One client address and 60 customers at load rates: no abuse limits.
            "SWITCHBOARD_RATE_LIMIT_IP": "0",
            "SWITCHBOARD_RATE_LIMIT_CUSTOMER": "0",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "BENCH_MODEL_LATENCY_MS": str(latency_ms),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "bench.server:create_bench_app",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )

    async def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError("the bench server exited during start-up")
                try:
                    if (await client.get(f"{self.base}/readyz")).status_code == 200:
                        await client.get(f"{self.base}/bench/stats")  # start the lag probe
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
        raise TimeoutError("the bench server did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def first_orders() -> dict[str, int]:
    """Each demo customer's first order id (the demo store is deterministic).

    The load's messages name it, so the scripted model's `explain_charge` reads an
    order of the caller's, as a real conversation's would, and succeeds.
    """
    firsts: dict[str, int] = {}
    for order in build_orders(datetime.now(UTC)):
        firsts.setdefault(order.customer_id, order.order_id)
    return firsts


def _headers(customer: str) -> dict[str, str]:
    token = mint_token(customer, "customer", secret=SECRET, ttl_seconds=7200)
    return {"Authorization": f"Bearer {token}"}


async def one_turn(
    client: httpx.AsyncClient,
    headers: dict,
    thread: str,
    text: str,
    latency_ms: float,
    *,
    create: bool = False,
) -> dict:
    """Send one message; return wall time, overhead before the first token, the reply,
    the tool calls that failed, and whether the input guard blocked the message (then
    it is, rightly, not stored).

    With `create`, the message creates its thread, as the widget's first one does.

    The overhead is the time to the first token minus the model calls made before
    it, counted from the stream: each handoff and each tool call started was one
    call of the scripted model, and the reply is one more. A conversation's first
    turn makes 4 (triage's handoff, the help-center search, `explain_charge`, the
    reply); later turns start at billing and make 3.
    """
    start = time.perf_counter()
    first: float | None = None
    calls = 1
    reply = ""
    event = ""
    blocked = False
    failed_tools = 0
    async with client.stream(
        "POST",
        f"/v1/threads/{thread}/messages",
        headers=headers,
        json={"content": text, "client_message_id": str(uuid.uuid4()), "create_thread": create},
    ) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "token" and first is None:
                first = time.perf_counter() - start
            elif line.startswith("data:") and event == "handoff" and first is None:
                calls += 1
            elif line.startswith("data:") and event == "tool":
                status = json.loads(line[5:])["status"]
                calls += first is None and status == "started"
                failed_tools += status == "failed"
            elif line.startswith("data:") and event == "message":
                reply = json.loads(line[5:])["content"]
            elif line.startswith("data:") and event == "guard":
                guard = json.loads(line[5:])
                blocked |= guard["stage"] == "input" and guard["action"] == "blocked"
            elif event == "done":
                break
    total = time.perf_counter() - start
    model = calls * latency_ms / 1000
    return {
        "model_calls": calls,
        "total": total,
        "overhead_ms": ((first or total) - model) * 1000,
        "reply": reply,
        "blocked": blocked,
        "failed_tools": failed_tools,
    }


class Balancer:
    """HTTP clients for one or more server processes; each request goes to the next in turn."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self._turn = itertools.count()

    @classmethod
    @asynccontextmanager
    async def over(cls, bases: Sequence[str], limits: httpx.Limits) -> AsyncIterator[Balancer]:
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base, timeout=120, limits=limits)
                )
                for base in bases
            ]
            yield cls(clients)

    def next(self) -> httpx.AsyncClient:
        return self.clients[next(self._turn) % len(self.clients)]

    async def stats(self, reset: bool = False) -> dict[str, Any]:
        """Every process's lag probe and peak RSS, merged: the worst of each, the RSS summed."""
        each = [
            (await client.get("/bench/stats", params={"reset": reset})).json()
            for client in self.clients
        ]
        merged = {key: max(stats[key] for stats in each) for key in each[0]}
        if len(each) > 1:
            merged["peak_rss_mb_all_processes"] = round(sum(s["peak_rss_mb"] for s in each), 1)
        return merged


async def conversations(
    bases: Sequence[str],
    n: int,
    turns: int,
    think: tuple[float, float],
    latency_ms: float,
    pids: list[int] | None = None,
) -> dict:
    """(a) n concurrent conversations of `turns` turns; check every thread afterwards.

    With the servers' `pids`, also reports the CPU milliseconds per turn of the
    server, of this driver and of Postgres.
    """
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    results: list[dict] = []
    threads: list[tuple[str, dict, list[str]]] = []
    blocked: list[str] = []
    async with Balancer.over(bases, limits) as servers:
        await servers.stats(reset=True)

        orders = first_orders()

        async def converse(i: int) -> None:
            customer = f"cust-{1 + i % CUSTOMERS:03d}"
            headers, order = _headers(customer), orders[customer]
            thread = str(uuid.uuid4())  # the first message creates it, as in the widget
            sent = []
            await asyncio.sleep(random.uniform(0, think[1]))  # spread the starts
            for t in range(turns):
                text = f"conversation {i} turn {t}: I was charged twice for order {order}"
                result = await one_turn(
                    servers.next(), headers, thread, text, latency_ms, create=t == 0
                )
                results.append(result)
                if result["blocked"]:
                    # The input guard refused it: the history holds a placeholder
                    # and the refusal instead of the raw text, by design.
                    blocked.append(text)
                    sent.append(WITHHELD)
                else:
                    sent.append(text)
                await asyncio.sleep(random.uniform(*think))
            threads.append((thread, headers, sent))

        start = time.perf_counter()
        cpu = CpuMeter(pids or [])
        await asyncio.gather(*(converse(i) for i in range(n)))
        cpu_per_turn = cpu.per_turn(len(results))
        wall = time.perf_counter() - start
        stats = await servers.stats()
        lost = misordered = 0
        for thread, headers, sent in threads:
            reply = await servers.next().get(f"/v1/threads/{thread}/messages", headers=headers)
            history = reply.json()
            users = [m["content"] for m in history["messages"] if m["role"] == "user"]
            roles = [m["role"] for m in history["messages"] if m["role"] in ("user", "assistant")]
            lost += len(set(sent) - set(users)) + max(0, len(sent) - roles.count("assistant"))
            pairs_ok = all(
                roles[k] == "user" and roles[k + 1] == "assistant"
                for k in range(0, len(roles) - 1, 2)
            )
            misordered += int(users != sent or not pairs_ok)
    overheads = [r["overhead_ms"] for r in results]
    return {
        "server_processes": len(bases),
        "conversations": n,
        "turns": len(results),
        "turns_per_s": round(len(results) / wall, 2),
        **cpu_per_turn,
        "overhead_p50_ms": round(_pct(overheads, 0.5), 1),
        "overhead_p95_ms": round(_pct(overheads, 0.95), 1),
        "lost": lost,
        "misordered_threads": misordered,
        "guard_blocked": len(blocked),
        "failed_tool_calls": sum(r["failed_tools"] for r in results),
        "guard_blocked_messages": blocked,
        **stats,
    }


async def _open_loop(rate: float, seconds: float, fire: Any) -> list[Any]:
    tasks = []
    start = time.perf_counter()
    k = 0
    while (now := time.perf_counter() - start) < seconds:
        target = k / rate
        if now < target:
            await asyncio.sleep(target - now)
        tasks.append(asyncio.create_task(fire()))
        k += 1
    return list(await asyncio.gather(*tasks))


CAPACITY_RATES = [float(r) for r in (2, 4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 120)]
"""Offered turns/s of the capacity steps, until one breaks the overhead limit."""


async def capacity(
    bases: Sequence[str],
    rates: list[float],
    seconds: float,
    latency_ms: float,
    pids: list[int] | None = None,
) -> list[dict]:
    """(b) raise the offered rate of single-turn conversations until p95 overhead > 150 ms.

    With the servers' `pids`, each step also reports the server's CPU milliseconds
    per turn (what one turn costs, whatever the rate, and so what bounds capacity),
    and this driver's and Postgres's.
    """
    steps = []
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with Balancer.over(bases, limits) as servers:
        counter = iter(range(10**9))
        orders = first_orders()

        async def fire() -> dict:
            customer = f"cust-{1 + next(counter) % CUSTOMERS:03d}"
            text = f"I was charged twice for order {orders[customer]}"
            return await one_turn(
                servers.next(), _headers(customer), str(uuid.uuid4()), text, latency_ms, create=True
            )

        for rate in rates:
            start = time.perf_counter()
            cpu = CpuMeter(pids or [])
            turns = await _open_loop(rate, seconds, fire)
            cpu_per_turn = cpu.per_turn(len(turns))
            achieved = len(turns) / (time.perf_counter() - start)
            p95 = _pct([t["overhead_ms"] for t in turns], 0.95)
            steps.append(
                {
                    "offered": rate,
                    "achieved": round(achieved, 2),
                    "overhead_p95_ms": round(p95, 1),
                    "failed_tool_calls": sum(t["failed_tools"] for t in turns),
                    **cpu_per_turn,
                }
            )
            if p95 > OVERHEAD_LIMIT_MS:
                break
    return steps


async def floor_capacity(
    database_url: str, rates: list[float], seconds: float, latency_ms: float
) -> list[dict]:
    """The floor: bare two-node graph (each node waits the model latency) on the same Postgres."""
    from langgraph.graph import END, START, StateGraph

    async def node(state: _Bare) -> dict:
        await asyncio.sleep(latency_ms / 1000)
        return {"messages": [AIMessage(content="ok")]}

    graph = StateGraph(_Bare)
    graph.add_node("a", node)
    graph.add_node("b", node)
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", END)
    pool = AsyncConnectionPool(database_url, max_size=30, kwargs=connection_kwargs(5), open=False)
    await pool.open(wait=True)
    steps = []
    try:
        saver = TurnCheckpointer(pool)
        await saver.setup()
        compiled = graph.compile(checkpointer=saver)

        async def fire() -> float:
            start = time.perf_counter()
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            await compiled.ainvoke({"messages": [HumanMessage(content="hi")]}, config)
            return (time.perf_counter() - start - 2 * latency_ms / 1000) * 1000

        for rate in rates:
            start = time.perf_counter()
            overheads = await _open_loop(rate, seconds, fire)
            p95 = _pct(overheads, 0.95)
            steps.append(
                {
                    "offered": rate,
                    "achieved": round(len(overheads) / (time.perf_counter() - start), 2),
                    "overhead_p95_ms": round(p95, 1),
                }
            )
            if p95 > OVERHEAD_LIMIT_MS:
                break
    finally:
        await pool.close()
    return steps


def _held(steps: list[dict]) -> float:
    ok = [s["achieved"] for s in steps if s["overhead_p95_ms"] <= OVERHEAD_LIMIT_MS]
    return max(ok, default=0.0)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    latency = args.latency_ms
    result: dict[str, Any] = {
        "model_latency_ms": latency,
        "quick": quick,
        "server_processes": args.server_processes,
    }
    async with scratch_database(SERVER, prefix="switchboard_load") as url:
        # Each process embeds its own copy of the help center (embedded Chroma is one
        # process's); they share the database, as Scale-out's processes do.
        servers: list[Server] = []
        try:
            for k in range(args.server_processes):
                servers.append(Server(url, latency, ".data/eval" + (f"-process-{k}" if k else "")))
                await servers[-1].wait_ready()  # one at a time: start-up is CPU-bound
            bases = [server.base for server in servers]
            pids = [server.process.pid for server in servers]
            if args.only in (None, "conversations"):
                result["conversations"] = await conversations(
                    bases,
                    n=10 if quick else 200,
                    turns=2 if quick else 5,
                    think=(0.2, 0.4) if quick else (2.0, 4.0),
                    latency_ms=latency,
                    pids=pids,
                )
            if args.only in (None, "capacity"):
                rates = args.rates or ([2.0, 4.0] if quick else CAPACITY_RATES)
                seconds = 3.0 if quick else 20.0
                if args.rates:
                    # Meet every customer's order once first, as the full run's low
                    # steps do: a tool result's first passages are embedded, later
                    # ones come from the cache.
                    await capacity(bases, [WARM_UP_RATE], CUSTOMERS / WARM_UP_RATE, latency)
                steps = await capacity(bases, rates, seconds, latency, pids=pids)
                floor: list[dict] = []
                if not args.rates:
                    # The floor goes further: it must show where *its* limit lies.
                    floor_rates = sorted({*rates, *(r * 2 for r in rates[-2:])})
                    floor = await floor_capacity(url, floor_rates, seconds, latency)
                result["capacity"] = {
                    "steps": steps,
                    "floor_steps": floor,
                    "sustained_turns_per_s": _held(steps),
                    "floor_turns_per_s": _held(floor) if floor else None,
                }
        finally:
            for server in servers:
                server.stop()
    return result


def _rates(text: str) -> list[float]:
    return [float(rate) for rate in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers (smoke run)")
    parser.add_argument("--only", choices=["conversations", "capacity"])
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument(
        "--server-processes",
        type=int,
        default=1,
        help="server processes on the same database, requests sent to each in turn "
        "(default 1, the setting the targets are for)",
    )
    parser.add_argument(
        "--rates",
        type=_rates,
        help="capacity steps to offer, e.g. 30,40,50 (turns/s); the floor is then not run",
    )
    args = parser.parse_args()
    if args.server_processes < 1:
        parser.error("--server-processes must be 1 or more")
    result = asyncio.run(run(args))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    if "conversations" in result:
        c = result["conversations"]
        print("(a) conversations")
        for key in (
            "server_processes",
            "conversations",
            "turns",
            "turns_per_s",
            "server_cpu_ms_per_turn",
            "driver_cpu_ms_per_turn",
            "postgres_cpu_ms_per_turn",
            "overhead_p50_ms",
            "overhead_p95_ms",
            "loop_lag_p50_ms",
            "loop_lag_p99_ms",
            "loop_lag_max_ms",
            "peak_rss_mb",
            "peak_rss_mb_all_processes",
            "lost",
            "misordered_threads",
            "guard_blocked",
            "failed_tool_calls",
        ):
            if key in c:
                print(f"  {key:26} {c[key]}")
    if "capacity" in result:
        cap = result["capacity"]
        print(
            f"(b) capacity, {result['server_processes']} server process(es) "
            "(offered → achieved turns/s, p95 overhead ms)"
        )
        for name in ("steps", "floor_steps"):
            print(
                f"  {name:12} "
                + "; ".join(
                    f"{s['offered']}→{s['achieved']} ({s['overhead_p95_ms']})" for s in cap[name]
                )
            )
        cpu = [
            f"{s['offered']:g}/s {s['server_cpu_ms_per_turn']} / {s['driver_cpu_ms_per_turn']} / "
            f"{s['postgres_cpu_ms_per_turn']}"
            for s in cap["steps"]
            if "server_cpu_ms_per_turn" in s
        ]
        if cpu:
            print(f"  CPU ms per turn, server / driver / Postgres, by step: {'; '.join(cpu)}")
        floor = cap["floor_turns_per_s"]
        print(
            f"  sustained {cap['sustained_turns_per_s']} turns/s vs bare LangGraph floor "
            + (f"{floor} (target ≥ half)" if floor is not None else "not run (--rates)")
        )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
