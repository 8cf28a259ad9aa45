"""Price tables per region, and the hourly price of a trial's worker pools.

A `PriceTable` is one region's on-demand list prices with where they come from: the URL, the
date they were recorded, how, and which figures were confirmed against the source. Tables come
from `scripts/pricing/prices.yaml` (maintained by hand) and from the cache a live refresh
writes (`$HPT_STATE_DIR/prices/catalog.json`, `scripts.pricing.catalog`), which wins for the
regions it has. A region without a table has no price: "not known for REGION", never another
region's prices.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.paths import REPO_ROOT

PRICES_FILE = Path(__file__).with_name("prices.yaml")
CACHE_FILE = Path("prices") / "catalog.json"  # under the state directory


@dataclass(frozen=True)
class PriceTable:
    """One region's prices: USD (or `currency`) per hour, for machines and for accelerators."""

    region: str
    source: str  # a URL
    recorded: str  # ISO date the figures were written down or fetched
    obtained: str  # how, in words
    machines: Mapping[str, float]
    accelerators: Mapping[str, float]
    currency: str = "USD"
    confirmed: Mapping[str, str] = field(default_factory=dict)  # figure -> date checked against the source
    all_confirmed: bool = False  # a table fetched from the source itself
    origin: str = ""  # the file it was read from

    def price(self, name: str) -> float | None:
        """The price of a machine type or an accelerator type; None when the table lacks it."""
        found = self.machines.get(name)
        return found if found is not None else self.accelerators.get(name)

    def unconfirmed(self, names: Iterable[str]) -> list[str]:
        """Which of `names` were not checked against the source."""
        if self.all_confirmed:
            return []
        return [name for name in dict.fromkeys(names) if name not in self.confirmed]

    def citation(self, used: Iterable[str] = ()) -> str:
        """Where the figures of `used` come from, in one sentence fragment: source and date."""
        used = list(dict.fromkeys(used))
        text = f"{self.region} on-demand list prices from {self.source}, recorded {self.recorded}"
        if self.all_confirmed:
            return text
        confirmed = [f"{name} confirmed {self.confirmed[name]}" for name in used if name in self.confirmed]
        unconfirmed = self.unconfirmed(used)
        notes = confirmed + (
            [f"not confirmed against the source: {', '.join(unconfirmed)}"] if unconfirmed else []
        )
        return text + (f" ({'; '.join(notes)})" if notes else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "currency": self.currency,
            "source": self.source,
            "recorded": self.recorded,
            "obtained": self.obtained,
            "origin": self.origin,
            "confirmed": "all" if self.all_confirmed else dict(self.confirmed),
            "machines": dict(self.machines),
            "accelerators": dict(self.accelerators),
        }


@dataclass(frozen=True)
class Pool:
    """What pricing needs of a worker pool."""

    machine_type: str
    accelerator_type: str | None = None
    accelerator_count: int = 0
    replica_count: int = 1


@dataclass(frozen=True)
class Rate:
    """The hourly price of one trial (every pool, every replica) in a region."""

    region: str
    table: PriceTable | None
    per_hour: float | None  # None: see `missing`
    accelerators: int  # accelerators per trial, all replicas
    machines: int  # machines per trial (replicas)
    used: tuple[str, ...]  # the machine and accelerator types priced
    missing: str | None = (
        None  # why there is no price: "not known for REGION", "not known: X not in the REGION price table"
    )

    def citation(self) -> str:
        return self.table.citation(self.used) if self.table else f"no price table for {self.region}"


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _numbers(data: Any) -> dict[str, float]:
    return {str(name): float(price) for name, price in (data or {}).items()}


def read_file(path: Path | None = None) -> dict[str, PriceTable]:
    """The maintained tables of `prices.yaml`, by region."""
    import yaml

    with open(path or PRICES_FILE, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    currency = data.get("currency", "USD")
    found = {}
    for region, table in (data.get("regions") or {}).items():
        found[region] = PriceTable(
            region=region,
            source=str(table["source"]),
            recorded=_date(table["recorded"]),
            obtained=" ".join(str(table.get("obtained", "")).split()),
            machines=_numbers(table.get("machines")),
            accelerators=_numbers(table.get("accelerators")),
            currency=currency,
            confirmed={str(name): _date(day) for name, day in (table.get("confirmed") or {}).items()},
            origin=_shown(path or PRICES_FILE),
        )
    return found


def read_cache(path: Path) -> dict[str, PriceTable]:
    """The tables a live refresh cached (`scripts.pricing.catalog.refresh`); {} when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for region, table in (data.get("regions") or {}).items() if isinstance(data, dict) else ():
        try:
            found[region] = PriceTable(
                region=region,
                source=str(table["source"]),
                recorded=str(table["fetched"])[:10],
                obtained=f"fetched from the Cloud Billing Catalog API at {table['fetched']}",
                machines=_numbers(table.get("machines")),
                accelerators=_numbers(table.get("accelerators")),
                currency=str(data.get("currency", "USD")),
                all_confirmed=True,
                origin=_shown(path),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a damaged entry: the maintained table stays in use for that region
    return found


def tables(state_dir: Path | None = None, path: Path | None = None) -> dict[str, PriceTable]:
    """Every region's table: the maintained file's, replaced by a live refresh's where one is cached."""
    from scripts.paths import state_dir as default_state_dir

    found = read_file(path or PRICES_FILE)
    found.update(read_cache((state_dir or default_state_dir()) / CACHE_FILE))
    return found


def rate(pools: Iterable[Pool], region: str, price_tables: Mapping[str, PriceTable] | None = None) -> Rate:
    """What one trial of these pools costs per hour in `region`."""
    pools = list(pools)
    table = (tables() if price_tables is None else price_tables).get(region)
    accelerators = sum(pool.accelerator_count * pool.replica_count for pool in pools if pool.accelerator_type)
    machines = sum(pool.replica_count for pool in pools)
    used = tuple(
        dict.fromkeys(name for pool in pools for name in (pool.machine_type, pool.accelerator_type) if name)
    )
    if table is None:
        return Rate(region, None, None, accelerators, machines, used, missing=f"not known for {region}")
    per_hour = 0.0
    unpriced: list[str] = []
    for pool in pools:
        machine = table.price(pool.machine_type)
        if machine is None:
            unpriced.append(pool.machine_type)
        else:
            per_hour += machine * pool.replica_count
        if pool.accelerator_type:
            accelerator = table.price(pool.accelerator_type)
            if accelerator is None:
                unpriced.append(pool.accelerator_type)
            else:
                per_hour += accelerator * pool.accelerator_count * pool.replica_count
    if unpriced:
        names = ", ".join(dict.fromkeys(unpriced))
        missing = f"not known: {names} not in the {region} price table"
        return Rate(region, table, None, accelerators, machines, used, missing=missing)
    return Rate(region, table, per_hour, accelerators, machines, used)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
