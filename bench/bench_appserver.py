"""Benchmark: how fast maestro's app-server client takes a flood of notifications.

A busy agent streams deltas (``item/agentMessage/delta``) by the thousand. Every line goes
through :class:`maestro.agents.appserver.AppServerClient` (read, parse, dispatch) and then,
in a lane, through the handler that journals it and updates ``activity.json``. This measures
notifications per second and the client process's peak memory for a flood of small
notifications inside one turn, so a regression in the read path or in journaling shows up.

Each run is a fresh subprocess (so peak RSS belongs to that run alone). The emitter is either
a tiny dedicated process that writes pre-built lines in large chunks (it outruns the client,
so the client is what is measured) or maestro's scripted agent with a ``flood`` step (one
``json.dumps`` and flush per line, closer to a real agent's pace).

    python bench/bench_appserver.py                  # 100 000 notifications, 5 runs each
    python bench/bench_appserver.py -n 20000 -r 3 --scripted

No assertions: it prints a table of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Reads the handshake, then writes N notifications and turn/completed in 1 MiB chunks.
EMITTER = r"""
import json, sys
n = int(sys.argv[1])
out = sys.stdout.buffer
def reply(obj):
    out.write((json.dumps(obj) + "\n").encode()); out.flush()
for raw in sys.stdin.buffer:
    msg = json.loads(raw)
    method = msg.get("method")
    if method == "initialize":
        reply({"id": msg["id"], "result": {"userAgent": "bench", "platformFamily": "unix"}})
    elif method == "thread/start":
        reply({"id": msg["id"], "result": {"thread": {"id": "thr-bench"}}})
    elif method == "turn/start":
        reply({"id": msg["id"], "result": {"turn": {"id": "turn-bench", "status": "inProgress"}}})
        chunk = []
        size = 0
        for i in range(n):
            line = ('{"method":"item/agentMessage/delta","params":{"threadId":"thr-bench",'
                    '"turnId":"turn-bench","itemId":"m1","delta":"%d"}}\n' % i).encode()
            chunk.append(line)
            size += len(line)
            if size >= 1 << 20:
                out.write(b"".join(chunk)); chunk, size = [], 0
        out.write(b"".join(chunk))
        reply({"method": "turn/completed", "params": {"threadId": "thr-bench",
               "turn": {"id": "turn-bench", "items": [], "status": "completed"}}})
"""


async def _one_run(count: int, handler: str, scripted: bool, work: Path) -> dict[str, float]:
    from maestro.agents.appserver import AppServerClient
    from maestro.lanes.record.state import LaneState
    from maestro.lanes.sessions.agent_run import _Activity

    state = LaneState(work / "lanes", "BENCH-1")
    state.dir.mkdir(parents=True, exist_ok=True)
    activity = _Activity(SimpleNamespace(state=state), "run-bench", 1, "agent")  # type: ignore[arg-type]
    journal = (work / "journal.jsonl").open("a")
    received = 0

    def on_event(method: str, params: dict[str, Any]) -> None:
        nonlocal received
        received += 1
        if handler == "journal+activity":
            # What agent_run does for every protocol line.
            activity.event(method, force=method in ("turn/completed", "turn/started"))
            journal.write(json.dumps({"at": "2026-01-01T00:00:00Z", "event": "rpc",
                                      "method": method}) + "\n")

    async def on_request(method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    if scripted:
        argv = [sys.executable, "-m", "maestro.agents.scripted"]
        text = f"Issue: BENCH-1\n\n```maestro-script\nsteps:\n  - flood: {count}\n```\n"
    else:
        argv = [sys.executable, "-c", EMITTER, str(count)]
        text = "flood"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    client = AppServerClient(argv, work, env, on_event, on_request, response_timeout=60)
    await client.start()
    try:
        await client.request("initialize", {"clientInfo": {"name": "bench", "version": "0"},
                                            "capabilities": {"experimentalApi": True}})
        await client.notify("initialized", {})
        thread = await client.request("thread/start", {"cwd": str(work)})
        received = 0
        started = time.perf_counter()
        turn = await client.request("turn/start", {
            "threadId": thread["thread"]["id"], "input": [{"type": "text", "text": text}]})
        await client.wait_turn(str(turn["turn"]["id"]), idle_timeout=60, turn_timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
        journal.close()
    return {"elapsed_s": elapsed, "events": received, "rate": received / elapsed,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(count: int, handler: str, scripted: bool) -> dict[str, float]:
    """One measured run in a fresh interpreter, so its peak RSS is its own."""
    proc = subprocess.run([sys.executable, __file__, "--child", "-n", str(count),
                           "--handler", handler, *(["--scripted"] if scripted else [])],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    data: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def baseline_rss() -> float:
    """Peak RSS of an interpreter that only imported the client (the floor to compare with)."""
    code = (f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); "
            "import maestro.agents.appserver, maestro.lanes.sessions.agent_run; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return float(out.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=100_000)
    parser.add_argument("-r", "--runs", type=int, default=5)
    parser.add_argument("--scripted", action="store_true",
                        help="emit with the scripted agent's flood step instead")
    parser.add_argument("--handler", choices=["journal+activity", "no-op"], default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory(prefix="maestro-bench-") as tmp:
            result = asyncio.run(_one_run(args.count, args.handler or "journal+activity",
                                          args.scripted, Path(tmp)))
        print(json.dumps(result))
        return
    emitter = "scripted agent (flood step)" if args.scripted else "dedicated emitter"
    handlers = [args.handler] if args.handler else ["no-op", "journal+activity"]
    print(f"app-server client: {args.count:,} notifications in one turn, {emitter}, "
          f"median of {args.runs} runs (python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus)")
    print(f"baseline peak RSS (interpreter + client imported): {baseline_rss():.1f} MiB\n")
    header = f"{'handler':<18} {'events/s':>12} {'elapsed s':>10} {'peak RSS MiB':>13} " \
             f"{'min..max events/s':>22}"
    print(header)
    print("-" * len(header))
    for handler in handlers:
        runs = [run_child(args.count, handler, args.scripted) for _ in range(args.runs)]
        rates = [r["rate"] for r in runs]
        if any(r["events"] < args.count for r in runs):
            print(f"{handler}: some runs saw fewer than {args.count} events", file=sys.stderr)
        print(f"{handler:<18} {statistics.median(rates):>12,.0f} "
              f"{statistics.median(r['elapsed_s'] for r in runs):>10.2f} "
              f"{statistics.median(r['peak_rss_mib'] for r in runs):>13.1f} "
              f"{min(rates):>10,.0f}..{max(rates):<10,.0f}")


if __name__ == "__main__":
    main()
