"""Run every benchmark module and write one JSON document.

    python -m benchmarks                      # all, JSON to stdout
    python -m benchmarks -o figures.json      # to a file
    python -m benchmarks --only scanner,deposit --quick
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks.common import Context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("--only", help="comma-separated benchmark names (e.g. scanner,deposit)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller inputs and fewer repeats, for a smoke run")
    parser.add_argument("--shared", type=Path, default=None,
                        help="the shared test data folder (default: $KIOSK_SHARED, else ../shared "
                             "beside the checkout)")
    args = parser.parse_args(argv)

    names = sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)} (valid: {', '.join(names)})")
        names = wanted

    ctx = Context.create(quick=args.quick, shared=args.shared)
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform(), "processor": platform.processor()},
        "quick": args.quick,
        "results": {},
    }
    for name in names:
        print(f"benchmark {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            result = module.run(ctx)
        except Exception as exc:  # a broken benchmark must not hide the others' figures
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.perf_counter() - start, 2)
        report["results"][name] = result
        print(f"benchmark {name}: {result['seconds']} s", file=sys.stderr, flush=True)
    ctx.cleanup()
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 1 if any("error" in r for r in report["results"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
