"""The experiments.yaml language: read and check it, compile an experiment to a Vertex AI job.

    experiments = load("experiments.yaml", env)         # `${VAR}` from env; raises InvalidExperiments
    commit, tag = images.commit_and_tag(None)            # the caller asks git, once
    context = CompileContext(commit=commit, image_tag=tag, profile="offline")
    compiled = compile_experiment(experiments, "horses-humans", context)
    compiled.parent, compiled.job, compiled.spec_hash

Import-light: nothing here imports TensorFlow or a cloud client; compiling (`compiler`) imports
the `aiplatform_v1` types. Names load on first access, so `validate` pays only for the checker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CompileContext": "compiler",
    "CompiledExperiment": "compiler",
    "compile_experiment": "compiler",
    "load": "loader",
    "load_text": "loader",
    "parse_overrides": "loader",
    "Experiment": "model",
    "ExperimentsFile": "model",
    "InvalidExperiments": "source",
    "Problem": "source",
}
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

if TYPE_CHECKING:
    from scripts.experiments.compiler import CompileContext, CompiledExperiment, compile_experiment
    from scripts.experiments.loader import load, load_text, parse_overrides
    from scripts.experiments.model import Experiment, ExperimentsFile
    from scripts.experiments.source import InvalidExperiments, Problem


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"scripts.experiments.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
