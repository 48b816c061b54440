"""`python -m o365_pipeline_tests.bench.analyst_queries`: the analyst queries over `audit` with
daily tables, side by side with the old query-time de-duplication over the same hourly files.

It synthesizes `--days` × `--tenants` × 5 content types of hourly partitions at `--records-per-day`
(all tenants together), 2% of each hour re-delivered in the next hour, compacts every tenant-day
with `compact_day` (`analyst_data`: both in a pool of `--workers` processes), then times each
query through the new `audit` and through `audit_old` (`analyst_timing`). It also times the same
rows over `--spread-tenants` tenants against one tenant (new `audit` only), and one tenant-day's
compaction (in a process of its own: its peak RSS) against re-reading it through the old view.

`--keep DIR` builds the data under DIR and leaves it there; `--reuse DIR` skips the build and
only times, so the timings can be taken again on an idle machine. Not a test: it asserts
nothing; the JSON goes to `--out`.
"""

import argparse
import json
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from o365_pipeline_tests.bench.analyst_data import (
    compact_all,
    compact_one_apart,
    load_average,
    synthesize,
)
from o365_pipeline_tests.bench.analyst_timing import newest_exchange_day, time_queries

BUILD_FILE = "build.json"


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse), time, print and write the JSON."""
    args = _parser().parse_args(argv)
    where = args.reuse or args.keep
    holder = nullcontext(str(where)) if where else tempfile.TemporaryDirectory(prefix="o365-a-")
    with holder as folder:
        base = Path(folder)
        if args.reuse:
            build = json.loads((base / BUILD_FILE).read_text())
        else:
            base.mkdir(parents=True, exist_ok=True)
            build = _build(base, args)
            (base / BUILD_FILE).write_text(json.dumps(build, indent=2, default=str))
        results = {"build": build, "timed": _time(base, build, args)}
    _print(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten: {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline_tests.bench.analyst_queries")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--records-per-day", type=int, default=1_000_000, help="all tenants")
    parser.add_argument("--spread-tenants", type=int, default=100)
    parser.add_argument("--spread-days", type=int, default=2, help="at --records-per-day")
    parser.add_argument("--workers", type=int, default=2, help="processes for build steps")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs after the cold one")
    parser.add_argument(
        "--old-timeout", type=float, default=90, help="seconds per old-view run (0: skip it)"
    )
    parser.add_argument("--out", type=Path, default=Path("data/bench_analyst.json"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--keep", type=Path, help="build the data in DIR and keep it")
    source.add_argument("--reuse", type=Path, help="time the data a --keep run left in DIR")
    return parser


def _datasets(build: dict) -> dict[str, dict]:
    return {name: part for name, part in build.items() if isinstance(part, dict) and "rows" in part}


def _build(base: Path, args: argparse.Namespace) -> dict:
    first = (datetime.now(UTC) - timedelta(days=args.days + 3)).date()
    build: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    shapes = {
        "main": (args.days, args.tenants),
        "spread_1": (args.spread_days, 1),
        f"spread_{args.spread_tenants}": (args.spread_days, args.spread_tenants),
    }
    for name, (days, tenants) in shapes.items():
        done = base / f"{name}.json"  # a dataset finished by an interrupted --keep run
        if done.exists():
            build[name] = json.loads(done.read_text())
            continue
        build[name] = _dataset(base / name, days, tenants, args, first)
        done.write_text(json.dumps(build[name], default=str))
        print(f"built {name}: {json.dumps(build[name], default=str)}", flush=True)
    return build


def _dataset(root: Path, days: int, tenants: int, args: argparse.Namespace, first: date) -> dict:
    start = time.perf_counter()
    rows = synthesize(
        root,
        days=days,
        tenants=tenants,
        records_per_day=args.records_per_day,
        first=first,
        workers=args.workers,
    )
    built = {"seconds": time.perf_counter() - start, "load": load_average()}
    return {
        "days": days,
        "tenants": tenants,
        "records_per_day": args.records_per_day,
        "rows": rows,
        "synthesis": built,
        "compaction": {**compact_all(root, workers=args.workers), "load": load_average()},
        "hourly_files": sum(1 for _ in (root / "audit").glob("*/*/*/*/part.parquet")),
        "daily_files": sum(1 for _ in (root / "daily").glob("*/*/*/part.parquet")),
        "bytes": sum(path.stat().st_size for path in root.rglob("*.parquet")),
    }


def _time(base: Path, build: dict, args: argparse.Namespace) -> dict:
    timed: dict = {}
    with tempfile.TemporaryDirectory(prefix="o365-a-scratch-") as scratch:
        for name in _datasets(build):
            old_timeout = args.old_timeout if name == "main" else 0
            timed[name] = time_queries(
                base / name, repeats=args.repeats, old_timeout=old_timeout, scratch=Path(scratch)
            )
            print(f"timed {name} (load {load_average()})", flush=True)
        tenant, day = newest_exchange_day(base / "main")
        timed["compaction_one_tenant_day"] = compact_one_apart(
            base / "main", tenant, date.fromisoformat(day), Path(scratch)
        )
    return timed


def _print(results: dict) -> None:
    build, timed = results["build"], results["timed"]
    for name, part in _datasets(build).items():
        compaction = part["compaction"]
        print(
            f"\n{name}: {part['days']} days × {part['tenants']} tenants, {part['rows']:,} hourly "
            f"rows in {part['hourly_files']:,} files ({part['bytes'] / 1e9:.2f} GB with daily); "
            f"built in {part['synthesis']['seconds']:.0f} s (load {part['synthesis']['load']}); "
            f"{compaction['tenant_days']} tenant-days compacted in {compaction['seconds']:.0f} s "
            f"by {compaction['workers']} workers (peak RSS {compaction['peak_rss_mb']} MB, "
            f"load {compaction['load']}); views made in {timed[name]['views_seconds']:.1f} s"
        )
        for query, sides in timed[name]["queries"].items():
            line = f"  {query:<36}"
            for side, figure in sides.items():
                problem = f", {figure['problem']}" if figure["problem"] else ""
                line += (
                    f" {side} {figure['best'] * 1000:7.0f} ms (cold {figure['first'] * 1000:6.0f},"
                    f" load {figure['load']}{problem})"
                )
            print(line)
    spread = [name for name in _datasets(build) if name.startswith("spread_")]
    if len(spread) == 2:
        one, many = (timed[name]["queries"] for name in spread)
        print(f"\n{spread[1]} / {spread[0]} (best, new audit):")
        for query in one:
            ratio = many[query]["audit"]["best"] / one[query]["audit"]["best"]
            print(f"  {query:<36} {ratio:5.1f}×")
    alone, old = timed["compaction_one_tenant_day"], timed["main"].get("old_view_tenant_day")
    if old:
        print(
            f"\none tenant-day ({old['tenant']} {old['day']}): compaction {alone['seconds']:.3f} s "
            f"(peak RSS {alone['peak_rss_mb']} MB, load {alone['load']}), re-read through the "
            f"old view {old['seconds']:.3f} s (load {old['load']}): "
            f"{old['seconds'] / alone['seconds']:.1f}× {old['problem'] or ''}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
