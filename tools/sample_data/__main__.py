"""CLI: `python -m tools.sample_data --meters 50 --months 1 --start 2026-10 --seed 7`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .generator import FORMATS, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.sample_data", description=__doc__)
    parser.add_argument("--meters", type=int, default=50)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--start", default="2026-10", help="first month, YYYY-MM")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path("var/data"))
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="mixed")
    parser.add_argument("--fault-rate-scale", type=float, default=1.0)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--history-years", type=int, default=0,
                        help="also write contract histories, service tickets and payments "
                             "(analytics input)")
    parser.add_argument("--weather", action="store_true",
                        help="weather files; load depends on the temperature")
    parser.add_argument("--history-months", type=int, default=0,
                        help="clean interval history before the months (a file a month)")
    parser.add_argument("--tail-days", type=int, default=0,
                        help="clean days after the months (at most 35)")
    args = parser.parse_args(argv)
    manifest = generate(args.data_dir, args.meters, args.months, args.start, args.seed,
                        fmt=args.fmt, faults=not args.no_faults,
                        fault_rate_scale=args.fault_rate_scale,
                        history_years=args.history_years, weather=args.weather,
                        history_months=args.history_months, tail_days=args.tail_days)
    summary = {k: manifest[k] for k in ("meters", "customers", "first_day", "last_day")}
    summary["files"] = len(manifest["files"])
    summary["fault_counts"] = manifest["fault_counts"]
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
