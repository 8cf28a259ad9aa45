"""Every trial the shipped experiments can start is a command line the trainer accepts.

A trial runs the image's entry point (`python -m trainer.task`) with the container args and one
`--<parameter id>=<value>` per parameter the trial has (a conditional child only when its
parent's value allows it). Values are written as the trainer receives them: integral discrete
values as integers, as the codelab's trainer (`--num_units`, `type=int`) relies on.
"""

from __future__ import annotations

import itertools

import pytest

from scripts.experiments import CompileContext, compile_experiment, load
from scripts.experiments.model import Parameter
from scripts.paths import EXPERIMENTS_FILE
from trainer.flags import build_parser

SHIPPED = load(EXPERIMENTS_FILE, {})


def _text(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _choices(parameter: Parameter) -> list:
    if parameter.type in ("double", "integer"):
        return [parameter.min, parameter.max]
    return list(parameter.values)


def _assignments(parameters: tuple[Parameter, ...]):
    """Every combination of boundary values, with the children each combination switches on."""
    for values in itertools.product(*(_choices(parameter) for parameter in parameters)):
        flags = []
        nested = []
        for parameter, value in zip(parameters, values, strict=True):
            flags.append(f"--{parameter.id}={_text(value)}")
            for condition in parameter.children:
                if value in condition.when:
                    nested.append(condition.parameters)
        if not nested:
            yield flags
        for extra in itertools.product(*(list(_assignments(children)) for children in nested)):
            yield flags + [flag for group in extra for flag in group]


@pytest.mark.parametrize("profile", [None, *SHIPPED.profiles])
@pytest.mark.parametrize("name", SHIPPED.names)
def test_the_trainer_accepts_every_trial(name, profile):
    context = CompileContext(env={}, commit="0" * 40, image_tag="inputs-test", profile=profile)
    compiled = compile_experiment(SHIPPED, name, context)
    parser = build_parser()
    pools = [pool for pool in compiled.job.trial_job_spec.worker_pool_specs if pool.container_spec.image_uri]
    tried = 0
    for pool in pools:
        for flags in _assignments(compiled.experiment.parameters):
            argv = [*pool.container_spec.args, *flags]
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"the trainer rejects {' '.join(argv)}")
            tried += 1
    assert tried >= 2
