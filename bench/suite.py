"""Every benchmark once, each figure beside the trivial-endpoint ceiling of the same run.

    ceiling ─▶ identity ─▶ chat ─▶ signaling ─▶ sfu ─▶ ceiling again

The machine's speed drifts (docs in bench/README.md), so a figure alone says little across
runs; its ratio to ``bench.ceiling`` measured minutes before and after on the same machine does.
Each benchmark runs as its own process with ``--spawn`` (the server pinned to one core, the
load to the other) from the checkout it is started in, so running the suite in two checkouts
one after the other compares two versions of the code:

    .venv/bin/python -m bench.suite --duration 8
    .venv/bin/python -m bench.suite --only identity chat --json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    unit: str

    def figure(self, result: dict[str, Any]) -> float:
        if self.name == "sfu":
            return max(
                float(step["forwarded_pps"]) for step in result["steps"] if not step.get("ceiling")
            )
        key = {"signaling": "setups_per_second"}.get(self.name, f"{self.unit}_per_s")
        return float(result[key])


CEILING = Bench("ceiling", ("bench.ceiling",), "requests")
BENCHES = (
    Bench("identity", ("bench.identity", "--spawn", "--no-ceiling"), "tokens"),
    Bench(
        "chat",
        ("bench.chat", "--spawn", "--no-ceiling", "--threads", "20", "--concurrency", "64"),
        "messages",
    ),
    Bench("signaling", ("bench.signaling", "--spawn", "--no-ceiling"), "setups"),
    Bench("sfu", ("bench.sfu", "--spawn"), "packets"),
)


def run(bench: Bench, duration: float) -> dict[str, Any]:
    command = [sys.executable, "-m", *bench.args, "--duration", str(duration), "--json"]
    print(f"running {' '.join(command[2:])}", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{bench.name} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds each")
    parser.add_argument("--only", nargs="*", choices=[b.name for b in BENCHES], default=None)
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHES if args.only is None or b.name in args.only]
    try:
        ceilings = [CEILING.figure(run(CEILING, args.duration))]
        figures = {bench.name: bench.figure(run(bench, args.duration)) for bench in chosen}
        ceilings.append(CEILING.figure(run(CEILING, args.duration)))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    ceiling = sum(ceilings) / len(ceilings)
    print(f"ceiling (trivial endpoint, uvicorn): {ceilings[0]:,.0f} and {ceilings[1]:,.0f} req/s")
    print(f"{'benchmark':<10} {'figure':>12}  {'unit':<8} {'÷ ceiling':>9}")
    for bench in chosen:
        value = figures[bench.name]
        print(f"{bench.name:<10} {value:>12,.1f}  {bench.unit + '/s':<8} {value / ceiling:>9.3f}")
    if args.json:
        print(json.dumps({"ceiling": ceilings, "figures": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
