"""The live refresh: Cloud Billing Catalog API pages (served by a real HTTP server on loopback)
become a dated cache the plan then cites, region by region."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scripts import cli
from scripts.pricing.catalog import COMPUTE_SERVICE, SERVICE, disk_prices_from_skus, prices_from_skus
from tests.scripts.pricing.fixtures import use_price_table

SKUS_PATH = f"/v1/{SERVICE}/skus"
COMPUTE_SKUS_PATH = f"/v1/{COMPUTE_SERVICE}/skus"


def money(amount: str) -> dict:
    units, _, fraction = amount.partition(".")
    return {"currencyCode": "USD", "units": units, "nanos": int((fraction + "000000000")[:9])}


def sku(description: str, regions: list[str], amount: str, unit: str = "h", usage: str = "OnDemand") -> dict:
    """A SKU as services.skus.list returns it (the fields the refresh reads, and a few it does not)."""
    return {
        "name": f"{SERVICE}/skus/{abs(hash((description, tuple(regions)))) % 10**12:012d}",
        "description": description,
        "category": {
            "serviceDisplayName": "Vertex AI",
            "resourceFamily": "Compute",
            "resourceGroup": "GPU" if unit == "h" else "RAM",
            "usageType": usage,
        },
        "serviceRegions": regions,
        "pricingInfo": [
            {
                "effectiveTime": "2026-11-30T00:00:00Z",
                "pricingExpression": {
                    "usageUnit": unit,
                    "displayQuantity": 1,
                    "tieredRates": [{"startUsageAmount": 0, "unitPrice": money(amount)}],
                },
                "currencyConversionRate": 1,
            }
        ],
        "serviceProviderName": "Google",
    }


PAGE_1 = {
    "skus": [
        sku("Custom Training Nvidia Tesla V100 GPU running in Americas", ["us-central1", "us-east1"], "2.5"),
        sku("Custom Training N1 Predefined Instance Core running in Americas", ["us-central1"], "0.04"),
        sku(
            "Custom Training N1 Predefined Instance Ram running in Americas",
            ["us-central1"],
            "0.005",
            "GiBy.h",
        ),
        # not on-demand training: left out
        sku("Online Prediction Nvidia Tesla V100 GPU running in Americas", ["us-central1"], "9.9"),
        sku("Custom Training Spot Nvidia Tesla V100 GPU running in Americas", ["us-central1"], "0.9"),
    ],
    "nextPageToken": "page-2",
}
PAGE_2 = {
    "skus": [
        sku("Custom Training Nvidia Tesla V100 GPU running in Netherlands", ["europe-west4"], "2.75"),
        sku("Custom Training N1 Predefined Instance Core running in Netherlands", ["europe-west4"], "0.044"),
        sku(
            "Custom Training N1 Predefined Instance Ram running in Netherlands",
            ["europe-west4"],
            "0.0055",
            "GiBy.h",
        ),
        sku(
            "Custom Training Nvidia Tesla V100 GPU running in Americas",
            ["us-central1"],
            "1.0",
            usage="Commit1Yr",
        ),
    ]
}


# Compute Engine's Persistent Disk SKUs (boot disks), per GiB-month; the regional and the
# committed ones, and another unit, are left out.
COMPUTE_PAGE = {
    "skus": [
        sku("SSD backed PD Capacity", ["us-central1"], "0.17", "GiBy.mo"),
        sku("SSD backed PD Capacity in Netherlands", ["europe-west4"], "0.187", "GiBy.mo"),
        sku("Storage PD Capacity in Netherlands", ["europe-west4"], "0.044", "GiBy.mo"),
        sku("Regional SSD backed PD Capacity in Netherlands", ["europe-west4"], "0.374", "GiBy.mo"),
        sku("SSD backed PD Capacity in Netherlands", ["europe-west4"], "0.1", "GiBy.mo", usage="Commit1Yr"),
        sku("SSD backed PD Capacity in Netherlands", ["europe-west4"], "0.0003", "GiBy.h"),
    ]
}


@pytest.fixture
def catalog(httpserver, monkeypatch, tmp_path):
    use_price_table(monkeypatch, tmp_path)
    monkeypatch.setenv("HPT_BILLING_CATALOG_URL", httpserver.url_for("/"))
    first = {"currencyCode": "USD", "pageSize": "5000"}
    httpserver.expect_ordered_request(SKUS_PATH, query_string=first).respond_with_json(PAGE_1)
    httpserver.expect_ordered_request(
        SKUS_PATH, query_string={**first, "pageToken": "page-2"}
    ).respond_with_json(PAGE_2)
    httpserver.expect_ordered_request(COMPUTE_SKUS_PATH, query_string=first).respond_with_json(COMPUTE_PAGE)
    return httpserver


def test_a_refresh_reads_every_page_and_the_plan_cites_the_fetch(catalog, tmp_path, monkeypatch, capsys):
    assert cli.main(["prices", "--refresh", "--region", "europe-west4", "--region", "us-central1"]) == 0
    catalog.check_assertions()  # both pages, in order
    cache = json.loads((tmp_path / "state" / "prices" / "catalog.json").read_text())
    europe = cache["regions"]["europe-west4"]
    # n1-standard-4: 4 vCPUs x $0.044 + 15 GiB x $0.0055
    assert europe["machines"]["n1-standard-4"] == pytest.approx(0.2585)
    assert europe["accelerators"] == {"NVIDIA_TESLA_V100": 2.75}
    assert cache["regions"]["us-central1"]["accelerators"] == {"NVIDIA_TESLA_V100": 2.5}
    assert europe["source"] == catalog.url_for(SKUS_PATH)
    assert europe["disks"] == {"pd-ssd": 0.187, "pd-standard": 0.044}
    assert europe["disk_source"] == catalog.url_for(COMPUTE_SKUS_PATH)
    assert cache["regions"]["us-central1"]["disks"] == {"pd-ssd": 0.17}
    capsys.readouterr()

    monkeypatch.setenv("GOOGLE_CLOUD_REGION", "europe-west4")
    assert cli.main(["plan", "horses-humans", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    today = dt.datetime.now(dt.UTC).date().isoformat()
    worst = 6 * 168 * (0.2585 + 2 * 2.75 + 100 * 0.187 / 730)  # the default boot disk: 100 GB pd-ssd
    assert f"**${worst:,.2f}**" in text
    assert (
        f"- Prices: europe-west4 on-demand list prices from {catalog.url_for(SKUS_PATH)}, recorded {today}; "
        f"boot disks: europe-west4 Persistent Disk list prices from {catalog.url_for(COMPUTE_SKUS_PATH)}, "
        f"recorded {today}; table `" in text
    )


def test_the_refreshed_region_replaces_the_maintained_table_and_others_keep_it(catalog, capsys):
    assert cli.main(["prices", "--refresh", "--region", "europe-west4"]) == 0
    capsys.readouterr()
    assert cli.main(["prices", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["europe-west4"]["confirmed"] == "all"
    assert shown["us-central1"]["source"] == "https://prices.example.test/vertex-ai"  # the test's file


def test_an_api_error_is_one_line(httpserver, monkeypatch, tmp_path, capsys):
    use_price_table(monkeypatch, tmp_path)
    monkeypatch.setenv("HPT_BILLING_CATALOG_URL", httpserver.url_for("/"))
    httpserver.expect_request(SKUS_PATH).respond_with_json(
        {"error": {"code": 403, "message": "Cloud Billing API has not been used in project 1"}}, status=403
    )
    assert cli.main(["prices", "--refresh"]) == 1
    assert capsys.readouterr().err == (
        "error: Cloud Billing Catalog API: HTTP 403: Cloud Billing API has not been used in project 1\n"
    )
    assert not (tmp_path / "state" / "prices" / "catalog.json").exists()


def test_skus_that_price_one_key_differently_leave_it_out_and_say_so():
    skus = [
        sku("Custom Training Nvidia Tesla T4 GPU running in Americas", ["us-central1"], "0.4"),
        sku("Custom Training Nvidia Tesla T4 GPU (new) running in Americas", ["us-central1"], "0.45"),
        sku("Custom Training Nvidia L4 GPU running in Americas", ["us-central1"], "0.64"),
    ]
    tables, notes = prices_from_skus(skus, ["us-central1", "asia-east1"], ["n1-standard-4"])
    assert tables == {"us-central1": {"machines": {}, "accelerators": {"NVIDIA_L4": 0.64}}}
    assert notes == [
        "us-central1: NVIDIA_TESLA_T4 left out: 2 SKUs price it differently",
        "asia-east1: no on-demand training SKU is sold there",
    ]


def test_without_credentials_the_refresh_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    use_price_table(monkeypatch, tmp_path)
    monkeypatch.delenv("HPT_BILLING_CATALOG_URL", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    assert cli.main(["prices", "--refresh"]) == 1
    assert capsys.readouterr().err == (
        "error: no Google Cloud credentials for the Cloud Billing Catalog API (gcloud auth "
        "application-default login); the maintained price table stays in use\n"
    )


def test_disk_skus_that_price_one_type_differently_leave_it_out_and_say_so():
    skus = [
        sku("SSD backed PD Capacity", ["us-central1"], "0.17", "GiBy.mo"),
        sku("SSD backed PD Capacity in Iowa", ["us-central1"], "0.2", "GiBy.mo"),
        sku("Balanced PD Capacity", ["us-central1"], "0.1", "GiBy.mo"),
    ]
    disks, notes = disk_prices_from_skus(skus, ["us-central1", "asia-east1"])
    assert disks == {"us-central1": {"pd-balanced": 0.1}}
    assert notes == [
        "us-central1: pd-ssd left out: 2 SKUs price it differently",
        "asia-east1: no Persistent Disk price: its boot disks, so its costs, are not known",
    ]


def test_a_cache_written_before_disks_were_fetched_keeps_the_maintained_disk_prices(monkeypatch, tmp_path):
    from scripts.pricing.table import tables

    use_price_table(monkeypatch, tmp_path)
    cache = tmp_path / "state" / "prices" / "catalog.json"
    cache.parent.mkdir(parents=True)
    region = {"machines": {"n1-standard-4": 0.5}, "accelerators": {}, "fetched": "2026-11-30T00:00:00Z"}
    cache.write_text(json.dumps({"regions": {"us-central1": {**region, "source": "https://x.test"}}}))
    table = tables(tmp_path / "state")["us-central1"]
    assert table.machines == {"n1-standard-4": 0.5}  # the refresh's
    assert table.disk_price("pd-ssd") == 7.3  # the maintained file's, cited as its own source
    assert table.disks.source == "https://prices.example.test/disks"
