"""Retired accelerators: a located `validate` error, and the same refusal at the emulator's door."""

from __future__ import annotations

from scripts import cli
from scripts.experiments import job_rules, rules

from .helpers import EXPERIMENT, HEADER


def test_validate_locates_a_k80_at_its_type(tmp_path, capsys):
    bad = tmp_path / "experiments.yaml"
    bad.write_text(
        HEADER
        + EXPERIMENT.replace(
            "- machine_type: n1-standard-4",
            "- machine_type: n1-standard-4\n        accelerator: {type: NVIDIA_TESLA_K80, count: 1}",
        )
    )
    assert cli.main(["validate", "--file", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    # Line 15 is the accelerator; column 29 is where NVIDIA_TESLA_K80 starts.
    assert lines == [
        f"{bad}:15:29: experiments.exp.worker_pools[0].accelerator.type: NVIDIA_TESLA_K80 has reached "
        "end of support on Google Cloud (https://cloud.google.com/compute/docs/eol/k80-eol); use "
        "NVIDIA_TESLA_T4 or NVIDIA_L4 (g2-standard-*) instead"
    ]


def test_p100_and_p4_are_still_accepted(tmp_path, capsys):
    for gpu in ("NVIDIA_TESLA_P100", "NVIDIA_TESLA_P4"):
        good = tmp_path / f"{gpu}.yaml"
        good.write_text(
            HEADER
            + EXPERIMENT.replace(
                "- machine_type: n1-standard-4",
                f"- machine_type: n1-standard-4\n        accelerator: {{type: {gpu}, count: 1}}",
            )
        )
        assert cli.main(["validate", "--file", str(good)]) == 0, capsys.readouterr().out


def test_the_emulator_refuses_a_k80_job_naming_the_machine_spec():
    job = {
        "display_name": "exp",
        "max_trial_count": 1,
        "parallel_trial_count": 1,
        "study_spec": {
            "metrics": [{"metric_id": "accuracy", "goal": "MAXIMIZE"}],
            "parameters": [{"parameter_id": "lr", "double_value_spec": {"min_value": 0.1, "max_value": 1.0}}],
        },
        "trial_job_spec": {
            "worker_pool_specs": [
                {
                    "replica_count": 1,
                    "machine_spec": {
                        "machine_type": "n1-standard-4",
                        "accelerator_type": "NVIDIA_TESLA_K80",
                        "accelerator_count": 1,
                    },
                }
            ]
        },
    }
    problems = list(job_rules.job_problems(job))
    assert problems == [
        ("trial_job_spec.worker_pool_specs[0].machine_spec", rules.RETIRED_ACCELERATORS["NVIDIA_TESLA_K80"])
    ]
