"""Show the price tables plans and summaries use, with their source and date; `--refresh` fetches
a region's prices from the Cloud Billing Catalog API into the local cache."""

from __future__ import annotations

import argparse
import json

from scripts.commands.format_args import add_format_argument
from scripts.experiments.machines import MACHINE_TYPES
from scripts.pricing.table import tables
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        action="append",
        default=None,
        metavar="REGION",
        help="show (or refresh) this region only; repeat for more",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help=(
            "fetch the regions' on-demand training prices from the Cloud Billing Catalog API (needs "
            "Application Default Credentials) into $HPT_STATE_DIR/prices/catalog.json; they then "
            "replace the maintained table's for those regions (default region: $GOOGLE_CLOUD_REGION "
            "or us-central1)"
        ),
    )
    add_format_argument(
        parser,
        {
            "table": "each region's source, date and prices",
            "json": "the tables as JSON",
        },
        default="table",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    if args.refresh:
        from scripts.pricing.catalog import refresh  # google-auth and requests: for a refresh only

        regions = args.region or [wiring.env.get("GOOGLE_CLOUD_REGION") or "us-central1"]
        path, notes = refresh(regions, wiring.state_dir, machine_types=MACHINE_TYPES, env=wiring.env)
        wiring.say(f"wrote {path}")
        for note in notes:
            wiring.say(f"note: {note}")
    found = tables(wiring.state_dir)
    shown = {region: found[region] for region in sorted(found) if not args.region or region in args.region}
    if args.format == "json":
        print(json.dumps({region: table.as_json() for region, table in shown.items()}, indent=2))
        return 0
    for region in args.region or []:
        if region not in found:
            print(f"{region}: no price table: its costs are not known (--refresh fetches one)")
    for table in shown.values():
        print(f"{table.region}: {table.currency} per hour, from {table.source}, recorded {table.recorded}")
        print(f"  how: {table.obtained}")
        print(f"  file: {table.origin}")
        for prices in (table.machines, table.accelerators):
            for name, price in prices.items():
                mark = "" if table.all_confirmed or name in table.confirmed else "  (not confirmed)"
                print(f"  {name:<24} {price:>12.8g}{mark}")
        disks = table.disks
        if disks is None:
            print("  boot disks: no prices (so no cost is known here)")
            continue
        print(f"  boot disks, {table.currency} per GB-month, from {disks.source}, recorded {disks.recorded}")
        for name, price in disks.per_gb_month.items():
            mark = "" if disks.all_confirmed or name in disks.confirmed else "  (not confirmed)"
            print(f"  {name:<24} {price:>12.8g}{mark}")
    return 0
