"""Price tables per region, and the hourly price of a trial's worker pools.

A `PriceTable` is one region's on-demand list prices with where they come from: the URL, the
date they were recorded, how, and which figures were confirmed against the source. Its `disks`
are the region's Persistent Disk prices per GB-month, with their own source (Compute Engine's
disk pricing): a trial's replicas each hold a boot disk for as long as the trial runs, priced
at `size × price per GB-month / 730 hours` (`HOURS_PER_MONTH`). Tables come
from `scripts/pricing/prices.yaml` (maintained by hand) and from the cache a live refresh
writes (`$HPT_STATE_DIR/prices/catalog.json`, `scripts.pricing.catalog`), which wins for the
regions it has. A region without a table has no price: "not known for REGION", never another
region's prices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scripts.paths import REPO_ROOT

PRICES_FILE = Path(__file__).with_name("prices.yaml")
CACHE_FILE = Path("prices") / "catalog.json"  # under the state directory
# Compute Engine prices a disk per GB-month, prorated by the second; its calculator counts a month
# as 730 hours (365 days x 24 / 12).
HOURS_PER_MONTH = 730
# DiskSpec: "Size in GB of the boot disk (default is 100GB)"; boot_disk_type "For non-A3U machines,
# the default value is "pd-ssd", for A3U machines, the default value is "hyperdisk-balanced""
# (https://cloud.google.com/vertex-ai/docs/reference/rest/v1/DiskSpec).
DEFAULT_BOOT_DISK_SIZE_GB = 100
DEFAULT_BOOT_DISK_TYPE = "pd-ssd"
A3_ULTRA_BOOT_DISK_TYPE = "hyperdisk-balanced"


def default_boot_disk_type(machine_type: str) -> str:
    """The boot disk type Vertex AI gives a replica of `machine_type` when none is set."""
    return A3_ULTRA_BOOT_DISK_TYPE if machine_type.startswith("a3-ultragpu") else DEFAULT_BOOT_DISK_TYPE


@dataclass(frozen=True)
class DiskPrices:
    """One region's Persistent Disk prices, USD (or the table's currency) per GB-month, with their source."""

    source: str  # a URL
    recorded: str
    obtained: str
    per_gb_month: Mapping[str, float]
    confirmed: Mapping[str, str] = field(default_factory=dict)
    all_confirmed: bool = False

    def citation(self, region: str, used: Iterable[str] = ()) -> str:
        text = f"{region} Persistent Disk list prices from {self.source}, recorded {self.recorded}"
        return _cited(text, used, self.confirmed, self.all_confirmed)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "recorded": self.recorded,
            "obtained": self.obtained,
            "confirmed": "all" if self.all_confirmed else dict(self.confirmed),
            "per_gb_month": dict(self.per_gb_month),
        }


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
    disks: DiskPrices | None = None  # None: no disk is priced here, so no trial is

    def price(self, name: str) -> float | None:
        """The price of a machine type or an accelerator type; None when the table lacks it."""
        found = self.machines.get(name)
        return found if found is not None else self.accelerators.get(name)

    def citation(self, used: Iterable[str] = ()) -> str:
        """Where the figures of `used` come from, in one sentence fragment: source and date."""
        text = f"{self.region} on-demand list prices from {self.source}, recorded {self.recorded}"
        return _cited(text, used, self.confirmed, self.all_confirmed)

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
            "disks": self.disks.as_json() if self.disks else None,
        }

    def disk_price(self, disk_type: str) -> float | None:
        """A disk type's price per GB-month; None when the table has none."""
        return self.disks.per_gb_month.get(disk_type) if self.disks else None


@dataclass(frozen=True)
class Pool:
    """What pricing needs of a worker pool."""

    machine_type: str
    accelerator_type: str | None = None
    accelerator_count: int = 0
    replica_count: int = 1


@dataclass(frozen=True)
class BootDisk:
    """The boot disks of a pool: one per replica, billed for as long as the trial runs."""

    disk_type: str = DEFAULT_BOOT_DISK_TYPE
    size_gb: int = DEFAULT_BOOT_DISK_SIZE_GB
    count: int = 1  # replicas, each with one


@dataclass(frozen=True)
class Rate:
    """The hourly price of one trial (every pool, every replica) in a region."""

    region: str
    table: PriceTable | None
    per_hour: float | None  # None: see `missing`
    accelerators: int  # accelerators per trial, all replicas
    machines: int  # machines per trial (replicas)
    used: tuple[str, ...]  # the machine and accelerator types priced
    # Why there is no price: "not known for REGION", "not known: X not in the REGION price table".
    missing: str | None = None
    disks_used: tuple[str, ...] = ()  # the boot disk types priced
    disk_gb: int = 0  # boot disk GB per trial, all replicas

    def citation(self) -> str:
        if self.table is None:
            return f"no price table for {self.region}"
        text = self.table.citation(self.used)
        if self.disks_used and self.table.disks is not None:
            text += "; boot disks: " + self.table.disks.citation(self.region, self.disks_used)
        return text


def _cited(text: str, used: Iterable[str], confirmed: Mapping[str, str], all_confirmed: bool) -> str:
    """`text`, then which of the figures `used` were confirmed against the source (and when), which not."""
    if all_confirmed:
        return text
    used = list(dict.fromkeys(used))
    notes = [f"{name} confirmed {confirmed[name]}" for name in used if name in confirmed]
    unconfirmed = [name for name in used if name not in confirmed]
    if unconfirmed:
        notes.append(f"not confirmed against the source: {', '.join(unconfirmed)}")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _numbers(data: Any) -> dict[str, float]:
    return {str(name): float(price) for name, price in (data or {}).items()}


def _disk_prices(data: Any) -> DiskPrices | None:
    """A region's `disks` entry of prices.yaml; None without one."""
    if not data:
        return None
    return DiskPrices(
        source=str(data["source"]),
        recorded=_date(data["recorded"]),
        obtained=" ".join(str(data.get("obtained", "")).split()),
        per_gb_month=_numbers(data.get("per_gb_month")),
        confirmed={str(name): _date(day) for name, day in (data.get("confirmed") or {}).items()},
    )


def read_file() -> dict[str, PriceTable]:
    """The maintained tables of `prices.yaml`, by region."""
    with open(PRICES_FILE, encoding="utf-8") as handle:
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
            origin=_shown(PRICES_FILE),
            disks=_disk_prices(table.get("disks")),
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
            obtained = f"fetched from the Cloud Billing Catalog API at {table['fetched']}"
            disks = None
            if table.get("disks"):
                disks = DiskPrices(
                    source=str(table["disk_source"]),
                    recorded=str(table["fetched"])[:10],
                    obtained=obtained,
                    per_gb_month=_numbers(table["disks"]),
                    all_confirmed=True,
                )
            found[region] = PriceTable(
                region=region,
                source=str(table["source"]),
                recorded=str(table["fetched"])[:10],
                obtained=obtained,
                machines=_numbers(table.get("machines")),
                accelerators=_numbers(table.get("accelerators")),
                currency=str(data.get("currency", "USD")),
                all_confirmed=True,
                origin=_shown(path),
                disks=disks,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a damaged entry: the maintained table stays in use for that region
    return found


def tables(state_dir: Path | None = None) -> dict[str, PriceTable]:
    """Every region's table: the maintained file's, replaced by a live refresh's where one is cached
    in `state_dir` (the local state, `paths.state_dir`; None: the maintained file's alone)."""
    found = read_file()
    if state_dir is None:
        return found
    for region, cached in read_cache(state_dir / CACHE_FILE).items():
        if cached.disks is None and region in found:
            # A cache written before disks were fetched: the maintained disk prices, with their own source.
            cached = dataclasses.replace(cached, disks=found[region].disks)
        found[region] = cached
    return found


def rate(
    pools: Iterable[Pool],
    region: str,
    price_tables: Mapping[str, PriceTable] | None = None,
    disks: Iterable[BootDisk] = (),
) -> Rate:
    """What one trial of these pools, with these boot disks, costs per hour in `region`.

    A disk type the table has no price for makes the whole rate unknown, as a machine does.
    """
    pools, disks = list(pools), list(disks)
    table = (tables() if price_tables is None else price_tables).get(region)
    accelerators = sum(pool.accelerator_count * pool.replica_count for pool in pools if pool.accelerator_type)
    machines = sum(pool.replica_count for pool in pools)
    used = tuple(
        dict.fromkeys(name for pool in pools for name in (pool.machine_type, pool.accelerator_type) if name)
    )
    disks_used = tuple(dict.fromkeys(disk.disk_type for disk in disks))
    disk_gb = sum(disk.size_gb * disk.count for disk in disks)
    described = {"disks_used": disks_used, "disk_gb": disk_gb}
    if table is None:
        missing = f"not known for {region}"
        return Rate(region, None, None, accelerators, machines, used, missing=missing, **described)
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
    for disk in disks:
        per_month = table.disk_price(disk.disk_type)
        if per_month is None:
            unpriced.append(disk.disk_type)
        else:
            per_hour += per_month * disk.size_gb * disk.count / HOURS_PER_MONTH
    if unpriced:
        names = ", ".join(dict.fromkeys(unpriced))
        missing = f"not known: {names} not in the {region} price table"
        return Rate(region, table, None, accelerators, machines, used, missing=missing, **described)
    return Rate(region, table, per_hour, accelerators, machines, used, **described)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
