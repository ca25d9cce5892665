"""Run a command and append the CPU it and this wrapper used to a log (bench helper).

    python bench/cpu_wrap.py LOG LABEL COMMAND [ARG...]

Used by ``bench_lane_cpu.py`` around the agent and the validation commands so their
share can be subtracted from a lane's CPU: one JSON line ``{"label", "cpu_s"}`` per run,
where ``cpu_s`` is user+system seconds of the command's whole process tree plus this
wrapper's own start-up. Standard streams pass through; the exit code is the command's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def main() -> int:
    log, label, *argv = sys.argv[1:]
    code = subprocess.call(argv)
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_CHILDREN,
                                                 resource.RUSAGE_SELF)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"label": label, "cpu_s": cpu}) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
