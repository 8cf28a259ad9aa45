"""A live refresh of the price tables from the Cloud Billing Catalog API, cached with its date.

`services.skus.list` (https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list)
lists the public SKUs of Vertex AI (service `C7E2-9256-1C43`) page by page (`nextPageToken`),
each with the regions it is sold in and its on-demand unit price. `refresh` keeps the SKUs of
custom training sold on demand in the asked regions, turns them into the machine and accelerator
prices `scripts.pricing.table` uses, and writes them to `$HPT_STATE_DIR/prices/catalog.json`
with the time they were fetched; the plan and summaries then cite that fetch.

How SKUs become prices (the SKU descriptions are free text, so this is a documented match, not
an identifier): a SKU counts when its description mentions training, its usage type is OnDemand
and it names no discount model (spot, preemptible, commitment, DWS, reservation). An accelerator
is priced by its GPU model in the description (`V100`, `H100 80GB`, `H100 Mega`, ...) per hour;
a machine by its family's core (per vCPU-hour) and RAM (per GiB-hour) SKUs times the machine
type's shape (vCPUs, GiB) as Compute Engine documents it. A key two SKUs price differently in
one region is left out and reported, never guessed; so is a machine whose shape is not listed.

Boot disks are Compute Engine Persistent Disk: the refresh also lists Compute Engine's SKUs
(service `6F81-5844-456A`) and keeps the zonal on-demand capacity SKUs, per GiB-month, whose
descriptions name the disk type: "Storage PD Capacity" (pd-standard), "Balanced PD Capacity"
(pd-balanced), "SSD backed PD Capacity" (pd-ssd), optionally followed by " in REGION NAME".

Credentials: Application Default Credentials with the `cloud-billing.readonly` scope (an API
key is not used). `$HPT_BILLING_CATALOG_URL` points the refresh at another endpoint (a test
server on loopback, which gets no credentials).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import google.auth
import google.auth.exceptions
import requests
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession

from scripts.errors import UserError
from scripts.pricing.table import CACHE_FILE

SERVICE = "services/C7E2-9256-1C43"  # Vertex AI in the Cloud Billing catalog
COMPUTE_SERVICE = "services/6F81-5844-456A"  # Compute Engine: Persistent Disk
ENDPOINT = "https://cloudbilling.googleapis.com"
ENDPOINT_VARIABLE = "HPT_BILLING_CATALOG_URL"
SCOPE = "https://www.googleapis.com/auth/cloud-billing.readonly"
PAGE_SIZE = 5000

# Accelerator type -> a pattern of its GPU model in a SKU description (lowercased).
ACCELERATOR_PATTERNS: dict[str, re.Pattern[str]] = {
    "NVIDIA_TESLA_P4": re.compile(r"\bp4\b"),
    "NVIDIA_TESLA_T4": re.compile(r"\bt4\b"),
    "NVIDIA_TESLA_P100": re.compile(r"\bp100\b"),
    "NVIDIA_TESLA_V100": re.compile(r"\bv100\b"),
    "NVIDIA_TESLA_A100": re.compile(r"\ba100\b(?!\s*80)"),
    "NVIDIA_A100_80GB": re.compile(r"\ba100\s*80\s*gb\b"),
    "NVIDIA_L4": re.compile(r"\bl4\b"),
    "NVIDIA_H100_80GB": re.compile(r"\bh100\b(?!.*\bmega\b)"),
    "NVIDIA_H100_MEGA_80GB": re.compile(r"\bh100\b.*\bmega\b|\bmega\b.*\bh100\b"),
    "NVIDIA_H200_141GB": re.compile(r"\bh200\b"),
    "NVIDIA_B200": re.compile(r"(?<!g)\bb200\b"),
    "NVIDIA_GB200": re.compile(r"\bgb200\b"),
}
# Machine family -> its core and RAM SKUs' family words (lowercased), and words that rule a SKU out.
FAMILIES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "n1": (re.compile(r"\bn1\b"), re.compile(r"\bcustom (instance|core|ram)")),
    "e2": (re.compile(r"\be2\b"), None),
    "n2": (re.compile(r"\bn2\b"), None),
    "a2": (re.compile(r"\ba2\b"), re.compile(r"\bultra\b")),
    "a2-ultra": (re.compile(r"\ba2 ultra\b"), None),
    "g2": (re.compile(r"\bg2\b"), None),
    "a3": (re.compile(r"\ba3\b"), re.compile(r"\b(mega|ultra|edge)\b")),
    "a3-mega": (re.compile(r"\ba3 mega\b"), None),
    "a3-ultra": (re.compile(r"\ba3 ultra\b"), None),
    "a4": (re.compile(r"\ba4\b"), None),
}
# Disk type -> its zonal capacity SKU's description (regional disks say "Regional ..." first).
DISK_PATTERNS: dict[str, re.Pattern[str]] = {
    "pd-standard": re.compile(r"storage pd capacity( in .*)?"),
    "pd-balanced": re.compile(r"balanced pd capacity( in .*)?"),
    "pd-ssd": re.compile(r"ssd backed pd capacity( in .*)?"),
}
_DISCOUNTED = re.compile(r"\b(spot|preemptible|commit\w*|dws|flex[- ]start|calendar|reserv\w*)\b")
_CORE = re.compile(r"\b(core|cpu|vcpu)\b")
_RAM = re.compile(r"\b(ram|memory)\b")
_G2_MEMORY = {4: 16, 8: 32, 12: 48, 16: 64, 24: 96, 32: 128, 48: 192, 96: 384}
_FIXED_SHAPES = {  # machine type -> (vCPUs, GiB), Compute Engine's accelerator-optimized tables
    "a2-megagpu-16g": (96, 1360),
    "a3-megagpu-8g": (208, 1872),
    "a3-ultragpu-8g": (224, 2952),
    "a4-highgpu-8g": (224, 3968),
}


def shape(machine_type: str) -> tuple[str, int, float] | None:
    """(family, vCPUs, GiB of memory) of a machine type; None when it is not listed here."""
    if machine_type in _FIXED_SHAPES:
        family = {"a2": "a2", "a3": "a3-mega" if "mega" in machine_type else "a3-ultra", "a4": "a4"}
        cpus, memory = _FIXED_SHAPES[machine_type]
        return family[machine_type[:2]], cpus, memory
    match = re.fullmatch(r"(n1|e2|n2)-(standard|highmem|highcpu)-(\d+)", machine_type)
    if match:
        family, kind, cpus = match[1], match[2], int(match[3])
        per_cpu = {"n1": {"standard": 3.75, "highmem": 6.5, "highcpu": 0.9}}.get(
            family, {"standard": 4, "highmem": 8, "highcpu": 1}
        )[kind]
        return family, cpus, cpus * per_cpu
    match = re.fullmatch(r"a2-(highgpu|ultragpu)-(\d+)g", machine_type)
    if match:
        gpus = int(match[2])
        return ("a2", 12 * gpus, 85 * gpus) if match[1] == "highgpu" else ("a2-ultra", 12 * gpus, 170 * gpus)
    match = re.fullmatch(r"a3-highgpu-(\d+)g", machine_type)
    if match:
        gpus = int(match[1])
        return "a3", 26 * gpus, 234 * gpus
    match = re.fullmatch(r"g2-standard-(\d+)", machine_type)
    if match and int(match[1]) in _G2_MEMORY:
        return "g2", int(match[1]), _G2_MEMORY[int(match[1])]
    return None


def endpoint(env: Mapping[str, str]) -> str:
    return (env.get(ENDPOINT_VARIABLE) or ENDPOINT).rstrip("/")


def session_for(url: str) -> Any:
    """An HTTP session with Application Default Credentials; none for a loopback test server."""
    if urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
        return AuthorizedSession(AnonymousCredentials())
    try:
        credentials, _ = google.auth.default(scopes=[SCOPE])
    except google.auth.exceptions.DefaultCredentialsError:
        raise UserError(
            "no Google Cloud credentials for the Cloud Billing Catalog API (gcloud auth "
            "application-default login); the maintained price table stays in use"
        ) from None
    return AuthorizedSession(credentials)


def list_skus(
    session: Any, url: str, currency: str = "USD", service: str = SERVICE
) -> Iterator[dict[str, Any]]:
    """Every SKU of a service (Vertex AI unless told), following `nextPageToken` to the last page."""
    # Plain REST, not google-cloud-billing's CloudCatalogClient: tried against the tests' loopback
    # server, it needs its REST transport anyway (the same wire, the same fake), its errors prefix
    # the server's message with the method and URL (so the message is still read from the reply),
    # and its SKUs are messages to turn back into the JSON below; it would replace this token loop
    # (about 10 lines) with a new pinned dependency (1.4 MB, 0.35 s to import).
    token = ""
    while True:
        params = {"currencyCode": currency, "pageSize": str(PAGE_SIZE)}
        if token:
            params["pageToken"] = token
        try:
            response = session.get(f"{url}/v1/{service}/skus", params=params, timeout=60)
        except requests.RequestException as error:
            raise UserError(f"Cloud Billing Catalog API at {url}: {error}") from None
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise UserError(f"Cloud Billing Catalog API: HTTP {response.status_code}: {message}")
        page = response.json()
        yield from page.get("skus", [])
        token = page.get("nextPageToken", "")
        if not token:
            return


def unit_price(sku: Mapping[str, Any]) -> tuple[str, float] | None:
    """(usage unit, price of one unit) of the SKU's latest pricing, first tier; None without one."""
    infos = sku.get("pricingInfo") or []
    if not infos:
        return None
    expression = infos[-1].get("pricingExpression") or {}
    rates = sorted(
        expression.get("tieredRates") or [], key=lambda rate: float(rate.get("startUsageAmount", 0))
    )
    if not rates:
        return None
    money = rates[0].get("unitPrice") or {}
    return expression.get("usageUnit", ""), int(money.get("units", 0) or 0) + int(money.get("nanos", 0)) / 1e9


def _training_on_demand(sku: Mapping[str, Any]) -> str | None:
    """The SKU's description, lowercased, when it is on-demand custom training; None otherwise."""
    description = str(sku.get("description", "")).lower()
    usage = (sku.get("category") or {}).get("usageType", "OnDemand")
    if usage != "OnDemand" or "training" not in description or _DISCOUNTED.search(description):
        return None
    return description


def prices_from_skus(
    skus: Iterable[Mapping[str, Any]], regions: Iterable[str], machine_types: Iterable[str]
) -> tuple[dict[str, dict[str, dict[str, float]]], list[str]]:
    """Machine and accelerator prices per region, and what could not be priced and why."""
    regions = list(regions)
    found: dict[str, dict[str, set[float]]] = {region: {} for region in regions}
    for sku in skus:
        description = _training_on_demand(sku)
        priced = unit_price(sku) if description else None
        if description is None or priced is None:
            continue
        unit, price = priced
        keys = []
        if unit == "h":
            keys += [name for name, pattern in ACCELERATOR_PATTERNS.items() if pattern.search(description)]
        for family, (pattern, excluded) in FAMILIES.items():
            if not pattern.search(description) or (excluded and excluded.search(description)):
                continue
            if unit == "h" and _CORE.search(description):
                keys.append(f"{family}:core")
            elif unit == "GiBy.h" and _RAM.search(description):
                keys.append(f"{family}:ram")
        for region in set(sku.get("serviceRegions") or []) & set(regions):
            for key in keys:
                found[region].setdefault(key, set()).add(price)
    tables: dict[str, dict[str, dict[str, float]]] = {}
    notes: list[str] = []
    for region in regions:
        single = _priced_once(region, found[region].items(), notes)
        machines = {}
        for machine_type in sorted(machine_types):
            machine_shape = shape(machine_type)
            if machine_shape is None:
                continue
            family, cpus, memory = machine_shape
            core, ram = single.get(f"{family}:core"), single.get(f"{family}:ram")
            if core is not None and ram is not None:
                machines[machine_type] = round(cpus * core + memory * ram, 8)
        accelerators = {name: single[name] for name in ACCELERATOR_PATTERNS if name in single}
        if machines or accelerators:
            tables[region] = {"machines": machines, "accelerators": accelerators}
        else:
            notes.append(f"{region}: no on-demand training SKU is sold there")
    return tables, notes


def _priced_once(region: str, found: Iterable[tuple[str, set[float]]], notes: list[str]) -> dict[str, float]:
    """The keys one price was found for; a key SKUs price differently is left out, with a note."""
    single = {}
    for key, prices in found:
        if len(prices) == 1:
            single[key] = next(iter(prices))
        else:
            notes.append(f"{region}: {key} left out: {len(prices)} SKUs price it differently")
    return single


def disk_prices_from_skus(
    skus: Iterable[Mapping[str, Any]], regions: Iterable[str]
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Persistent Disk prices per GiB-month by region, and what could not be priced and why."""
    regions = list(regions)
    found: dict[str, dict[str, set[float]]] = {region: {} for region in regions}
    for sku in skus:
        description = " ".join(str(sku.get("description", "")).lower().split())
        usage = (sku.get("category") or {}).get("usageType", "OnDemand")
        priced = unit_price(sku)
        if usage != "OnDemand" or priced is None or priced[0] != "GiBy.mo":
            continue
        for disk_type, pattern in DISK_PATTERNS.items():
            if pattern.fullmatch(description):
                for region in set(sku.get("serviceRegions") or []) & set(regions):
                    found[region].setdefault(disk_type, set()).add(priced[1])
    disks: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    for region in regions:
        if region_disks := _priced_once(region, sorted(found[region].items()), notes):
            disks[region] = region_disks
        else:
            notes.append(f"{region}: no Persistent Disk price: its boot disks, so its costs, are not known")
    return disks, notes


def refresh(
    regions: Iterable[str],
    state_dir: Path,
    *,
    machine_types: Iterable[str],
    env: Mapping[str, str],
    now: dt.datetime | None = None,
) -> tuple[Path, list[str]]:
    """Fetch the regions' prices into the cache (other regions cached earlier stay, with their own
    fetch time); returns the cache's path and what could not be priced."""
    url = endpoint(env)
    regions = list(dict.fromkeys(regions))
    session = session_for(url)
    skus = list(list_skus(session, url))
    tables, notes = prices_from_skus(skus, regions, machine_types)
    disks, disk_notes = disk_prices_from_skus(list_skus(session, url, service=COMPUTE_SERVICE), tables)
    notes += disk_notes
    fetched = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    stamp = fetched.isoformat().replace("+00:00", "Z")
    source = f"{url}/v1/{SERVICE}/skus"
    disk_source = f"{url}/v1/{COMPUTE_SERVICE}/skus"
    path = state_dir / CACHE_FILE
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    kept = cached.get("regions") if isinstance(cached.get("regions"), dict) else {}
    for region, table in tables.items():
        kept[region] = {**table, "fetched": stamp, "source": source, "skus": len(skus)}
        if region in disks:
            kept[region].update(disks=disks[region], disk_source=disk_source)
    data = {"currency": "USD", "regions": kept}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path, notes
