"""Costs in the plan: the expected cost beside the worst case, each with its prices' source and date;
a region without prices is "not known" for it; the spending gate; the shipped price table's shape."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from google.cloud.aiplatform_v1 import (
    AcceleratorType,
    CustomJobSpec,
    HyperparameterTuningJob,
    JobState,
    MachineSpec,
    StudySpec,
    Trial,
    WorkerPoolSpec,
)

from scripts import cli
from scripts.experiments import load
from scripts.experiments.costs import budget, worst_case
from scripts.experiments.machines import ACCELERATOR_TYPES, MACHINE_TYPES
from scripts.experiments.rules import RETIRED_ACCELERATORS
from scripts.paths import EXPERIMENTS_FILE
from scripts.pricing.table import DiskPrices, PriceTable, read_file
from scripts.results.files import write_summary
from scripts.vertex.backend import Backend
from tests.scripts.pricing.fixtures import DISK_SOURCE, RECORDED, SOURCE, use_price_table

# horses-humans: 6 trials, no timeout (7 days), n1-standard-4 + 2 x V100 + Vertex AI's default boot
# disk (100 GB pd-ssd): at the test table (n1-standard-4 $1, V100 $2, 100 GB pd-ssd $1 an hour) a
# trial-hour costs 1 + 2 x 2 + 1 = $6.
CODELAB_WORST = 6 * 168 * 6.0


@pytest.fixture
def prices(monkeypatch, tmp_path):
    return use_price_table(monkeypatch, tmp_path)


def plan_markdown(capsys, name: str = "horses-humans") -> str:
    assert cli.main(["plan", name, "--format", "markdown"]) == 0
    return capsys.readouterr().out


def test_the_plan_shows_the_worst_case_warns_without_timeout_and_names_the_source_and_date(prices, capsys):
    text = plan_markdown(capsys)
    assert f"so the worst case is ${CODELAB_WORST:,.2f}. Set `timeout` to bound it." in text
    assert "- ⚠️ **No timeout bounds a trial**" in text
    assert (
        "- Expected cost: not known: no earlier run of this experiment and no timeout bounds a trial." in text
    )
    assert (
        "- Worst case: every one of 6 trials runs for 7 days (Vertex AI's default timeout: none is set): "
        "**2,016 GPU-hours** (1,008 machine-hours, 2 GPUs and 100 GB of pd-ssd boot disk per trial), "
        f"**${CODELAB_WORST:,.2f}**."
    ) in text
    assert (
        f"- Prices: us-central1 on-demand list prices from {SOURCE}, recorded {RECORDED} "
        f"(n1-standard-4 confirmed {RECORDED}; not confirmed against the source: NVIDIA_TESLA_V100); "
        f"boot disks: us-central1 Persistent Disk list prices from {DISK_SOURCE}, recorded {RECORDED} "
        f"(pd-ssd confirmed {RECORDED}); table `{prices}`."
    ) in text


def test_with_a_timeout_the_expected_cost_is_at_most_its_bound(prices, capsys):
    text = plan_markdown(capsys, "horses-humans-early-stopping")
    # 16 trials x 2 h x (n1-standard-8 $2 + 1 x T4 $0.5 + 100 GB pd-ssd $1)
    assert (
        "- Expected: at most **$112.00**, 32 GPU-hours (if every trial runs its 2 h timeout; "
        "no earlier run of this experiment is known)."
    ) in text
    assert (
        "**32 GPU-hours** (32 machine-hours, 1 GPU and 100 GB of pd-ssd boot disk per trial), **$112.00**."
        in text
    )
    assert "No timeout bounds a trial" not in text


def test_the_shipped_codelab_job_costs_what_the_issue_says_at_the_shipped_prices(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path))
    text = plan_markdown(capsys)
    assert "**$5,993.35**" in text  # 6 x 168 h x (0.21849885 + 2 x 2.852 + 100 GB x 0.17 / 730)
    assert "from https://cloud.google.com/vertex-ai/pricing, recorded 2026-11-27" in text


def test_a_region_without_a_table_is_not_known_for_it_not_priced_as_another(prices, monkeypatch, capsys):
    monkeypatch.setenv("GOOGLE_CLOUD_REGION", "europe-west4")
    text = plan_markdown(capsys)
    assert "cost not known for europe-west4." in text
    assert "$" not in text.split("#### Cost", 1)[1]
    assert "`python -m scripts prices --refresh --region europe-west4` fetches one" in text


def test_a_machine_missing_from_the_table_is_named(prices):
    experiment = load(EXPERIMENTS_FILE, {}).experiments["horses-humans-multi-worker"]
    table = PriceTable("us-central1", SOURCE, RECORDED, "test", {"n1-standard-8": 1.0}, {})
    case = worst_case(experiment, {"us-central1": table})
    assert case.cost is None
    assert case.missing == "not known: NVIDIA_TESLA_T4, pd-ssd not in the us-central1 price table"


def test_worst_case_follows_the_timeout_and_every_replica():
    experiment = load(EXPERIMENTS_FILE, {}).experiments["horses-humans-multi-worker"]
    disks = DiskPrices(DISK_SOURCE, RECORDED, "test", {"pd-ssd": 7.3})
    table = PriceTable(
        "us-central1", SOURCE, RECORDED, "test", {"n1-standard-8": 1.0}, {"NVIDIA_TESLA_T4": 0.5}, disks=disks
    )
    case = worst_case(experiment, {"us-central1": table})
    # 8 trials x 3 h; chief + 2 workers, each with 2 T4s and a 100 GB pd-ssd boot disk ($1 an hour)
    assert case.gpus_per_trial == 6
    assert case.gpu_hours == 8 * 3 * 6
    assert case.machine_hours == 8 * 3 * 3
    assert case.cost == pytest.approx(8 * 3 * (3 * 1.0 + 6 * 0.5 + 3 * 1.0))


def test_the_spending_gate_uses_the_regions_prices(prices):
    experiment = load(EXPERIMENTS_FILE, {}).experiments["horses-humans"]
    assert budget(experiment, {"HPT_MAX_COST": "1000"}).refusal == (
        f"its worst case, ${CODELAB_WORST:,.2f}, exceeds HPT_MAX_COST ($1,000.00)"
    )
    assert budget(experiment, {"HPT_MAX_COST": "$7,000"}).refusal is None
    elsewhere = load(EXPERIMENTS_FILE, {"GOOGLE_CLOUD_REGION": "asia-east1"}).experiments["horses-humans"]
    assert budget(elsewhere, {"HPT_MAX_COST": "1000"}).refusal == (
        "its cost is not known for asia-east1 and HPT_MAX_COST is $1,000.00"
    )


@pytest.mark.parametrize("cap", [None, "", "  ", "lots", "-5", "nan", "inf", "1e999"])
def test_without_a_valid_cap_the_gate_refuses_and_says_how_to_set_one(prices, cap):
    experiment = load(EXPERIMENTS_FILE, {}).experiments["horses-humans"]
    verdict = budget(experiment, {} if cap is None else {"HPT_MAX_COST": cap})
    assert verdict.refusal is not None and not verdict.approvable  # no approval stands in for a cap
    assert "set HPT_MAX_COST to the most one job may cost, in US dollars" in verdict.refusal
    assert "gh variable set HPT_MAX_COST" in verdict.refusal and "The spending gate" in verdict.refusal


def test_a_boot_disk_is_priced_by_type_size_and_replica():
    experiment = load(EXPERIMENTS_FILE, {}).experiments["horses-humans-multi-worker"]
    disks = DiskPrices(DISK_SOURCE, RECORDED, "test", {"pd-ssd": 7.3, "pd-standard": 0.73})
    table = PriceTable("us-central1", SOURCE, RECORDED, "test", {"n1-standard-8": 0}, {"NVIDIA_TESLA_T4": 0})
    tables = {"us-central1": dataclasses.replace(table, disks=disks)}
    chief, workers = experiment.worker_pools[:2]
    bigger = dataclasses.replace(
        experiment,
        worker_pools=(
            chief,
            dataclasses.replace(workers, boot_disk_type="pd-standard", boot_disk_size_gb=64_000),
        ),
    )
    # 8 trials x 3 h; the chief's default 100 GB pd-ssd ($1 an hour) and 2 workers' 64,000 GB
    # pd-standard ($64 an hour each)
    assert worst_case(experiment, tables).cost == pytest.approx(8 * 3 * 3 * 1.0)
    assert worst_case(bigger, tables).cost == pytest.approx(8 * 3 * (1.0 + 2 * 64.0))
    assert worst_case(experiment, {"us-central1": table}).missing == (
        "not known: pd-ssd not in the us-central1 price table"
    )


def _vertex_job(job_id: str, minutes: list[int], *, accelerators: int = 2) -> HyperparameterTuningJob:
    start = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    trials = [
        Trial(
            id=str(index),
            state=Trial.State.SUCCEEDED,
            start_time=start,
            end_time=start + dt.timedelta(minutes=length),
        )
        for index, length in enumerate(minutes, start=1)
    ]
    pool = WorkerPoolSpec(
        machine_spec=MachineSpec(
            machine_type="n1-standard-4",
            accelerator_type=AcceleratorType.NVIDIA_TESLA_V100,
            accelerator_count=accelerators,
        ),
        replica_count=1,
    )
    return HyperparameterTuningJob(
        name=f"projects/p/locations/us-central1/hyperparameterTuningJobs/{job_id}",
        display_name="horses-humans-abc",
        labels={"hpt-experiment": "horses-humans"},
        state=JobState.JOB_STATE_SUCCEEDED,
        study_spec=StudySpec(
            metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=StudySpec.MetricSpec.GoalType.MAXIMIZE)]
        ),
        max_trial_count=6,
        trials=trials,
        trial_job_spec=CustomJobSpec(worker_pool_specs=[pool]),
    )


def test_the_expected_cost_comes_from_earlier_vertex_runs_of_the_same_experiment(prices, tmp_path, capsys):
    runs = tmp_path / "state" / "runs"
    # The earlier run's summary.json, as `run --backend vertex --wait` writes it: trials of 30, 60, 90 min.
    earlier = _vertex_job("1", [30, 60, 90])
    write_summary(earlier, runs / "1", backend=Backend.vertex().where(earlier))
    # Not evidence: a local run (this machine is no V100), and a run on other machines.
    local, other = _vertex_job("2", [600, 600]), _vertex_job("3", [900], accelerators=4)
    write_summary(local, runs / "2", backend=Backend.emulator_at("127.0.0.1:1").where(local))
    write_summary(other, runs / "3", backend=Backend.vertex().where(other))
    text = plan_markdown(capsys)
    # median trial 1 h x 6 trials x $6 per trial-hour; 2 GPUs per trial
    assert (
        "- Expected: **$36.00**, 12 GPU-hours (the median trial (1 h) of 3 trials in 1 earlier Vertex AI "
        "run of this experiment on these machines)."
    ) in text
    assert f"**${CODELAB_WORST:,.2f}**" in text  # the worst case stays beside it


def test_the_shipped_price_table_says_where_every_figure_comes_from():
    tables = read_file()
    assert "us-central1" in tables
    for region, table in tables.items():
        assert table.region == region and table.currency == "USD"
        assert table.source.startswith("https://")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.recorded)
        assert table.obtained
        priced = {**table.machines, **table.accelerators}
        assert set(table.confirmed) <= set(priced), "a confirmed figure the table does not have"
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) for day in table.confirmed.values())
        assert set(table.machines) <= MACHINE_TYPES
        assert set(table.accelerators) <= set(ACCELERATOR_TYPES)
        assert not set(table.accelerators) & set(RETIRED_ACCELERATORS), "a retired accelerator has a price"
        assert all(price > 0 for price in priced.values())
