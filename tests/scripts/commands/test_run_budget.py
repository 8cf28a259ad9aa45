"""`run --backend vertex` spends, so it passes the spending gate before it submits anything: no cap,
an invalid cap, a worst case over the cap or without a price is refused with nothing created. The
fake JobService stands in for Vertex AI (VERTEX_AI_EMULATOR_HOST). The local backend spends
nothing and needs no cap (`make tune`)."""

from __future__ import annotations

import pytest
from google.cloud.aiplatform_v1 import JobState

from scripts import cli
from tests.fakes.job_service import Script, make_trial
from tests.scripts.pricing.fixtures import use_price_table

FAST_POLLS = ["--poll-interval", "0.01", "--max-poll-interval", "0.01"]
IMAGE = ["--set", "image={uri: us-central1-docker.pkg.dev/demo-project/hpt/trainer:pinned}"]
RUN = ["run", "horses-humans", "--commit", "abc123", *IMAGE]
# horses-humans at the test table: 6 trials x 168 h x (n1-standard-4 $1 + 2 x V100 $2 + boot disk $1)
WORST = 6 * 168 * 6.0


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path, fake):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    monkeypatch.setenv("GOOGLE_CLOUD_REGION", "us-central1")
    use_price_table(monkeypatch, tmp_path)
    monkeypatch.delenv("HPT_MAX_COST", raising=False)
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    fake.script = Script(
        trials=[make_trial("1", {"learning_rate": 0.05, "momentum": 0.5, "num_units": 64.0}, 0.84)]
    )


@pytest.mark.parametrize("cap", [None, "", "inf", "-3", "plenty"])
def test_without_a_valid_cap_nothing_is_submitted_and_the_error_says_how_to_set_one(
    fake, capsys, monkeypatch, cap
):
    if cap is not None:
        monkeypatch.setenv("HPT_MAX_COST", cap)
    assert cli.main([*RUN, "--backend", "vertex"]) == 1
    err = capsys.readouterr().err
    assert fake.count("CreateHyperparameterTuningJob") == 0 and fake.jobs == {}
    assert err.startswith("error: horses-humans: not submitted: ")
    assert "set HPT_MAX_COST to the most one job may cost, in US dollars" in err
    assert "the environment variable for `python -m scripts run --backend vertex`" in err
    assert err.count("\n") == 1


def test_a_worst_case_over_the_cap_is_refused(fake, capsys, monkeypatch):
    monkeypatch.setenv("HPT_MAX_COST", "1000")
    assert cli.main([*RUN, "--backend", "vertex"]) == 1
    assert fake.jobs == {}
    assert capsys.readouterr().err == (
        f"error: horses-humans: not submitted: its worst case, ${WORST:,.2f}, exceeds HPT_MAX_COST "
        "($1,000.00); set HPT_MAX_COST higher for this run to allow it\n"
    )


def test_a_region_without_prices_is_refused_under_any_cap(fake, capsys, monkeypatch):
    monkeypatch.setenv("HPT_MAX_COST", "1000000")
    monkeypatch.setenv("GOOGLE_CLOUD_REGION", "asia-east1")
    assert cli.main([*RUN, "--backend", "vertex"]) == 1
    assert fake.jobs == {}
    assert "its cost is not known for asia-east1 and HPT_MAX_COST is $1,000,000.00" in capsys.readouterr().err


def test_within_the_cap_it_is_submitted(fake, capsys, monkeypatch):
    monkeypatch.setenv("HPT_MAX_COST", f"{WORST:.2f}")
    assert cli.main([*RUN, "--backend", "vertex"]) == 0
    assert fake.count("CreateHyperparameterTuningJob") == 1


def test_the_local_backend_needs_no_cap(fake, capsys):
    assert cli.main([*RUN, "--backend", "local", *FAST_POLLS]) == 0
    (job,) = fake.jobs.values()
    assert job.state == JobState.JOB_STATE_SUCCEEDED
