"""The experiments.yaml language: read and check it, compile an experiment to a Vertex AI job.

    experiments = load("experiments.yaml")              # raises InvalidExperiments
    compiled = compile_experiment(experiments, "horses-humans", CompileContext(profile="offline"))
    compiled.parent, compiled.job, compiled.spec_hash

Import-light: nothing here imports TensorFlow or a cloud client; `CompiledExperiment.job`
imports the `aiplatform_v1` types on first use.
"""

from __future__ import annotations

from scripts.experiments.compiler import CompileContext, CompiledExperiment, compile_experiment
from scripts.experiments.loader import load, load_text, parse_overrides
from scripts.experiments.model import Experiment, ExperimentsFile
from scripts.experiments.problems import InvalidExperiments, Problem

__all__ = [
    "CompileContext",
    "CompiledExperiment",
    "Experiment",
    "ExperimentsFile",
    "InvalidExperiments",
    "Problem",
    "compile_experiment",
    "load",
    "load_text",
    "parse_overrides",
]
