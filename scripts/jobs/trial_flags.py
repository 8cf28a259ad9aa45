"""The flags a trial's parameters become on the trainer's command line, as Vertex AI passes them.

Each parameter is appended to the container's args as `--<parameter_id>=<value>`: an integer
parameter, or a whole value of a discrete one, without a `.0`; a double as Python writes it; a
categorical value as it is. The emulator launches each trial with these flags, and
best_params.json hands the winner's on, so both say it the one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import StudySpec, Trial


def trial_flags(trial: Trial, spec: StudySpec) -> list[str]:
    """`--id=value` for each parameter of `trial`, formatted by its kind in the study `spec`."""
    kinds = {parameter.parameter_id: kind for parameter, kind in parameter_specs(spec.parameters)}
    return [
        f"--{p.parameter_id}={format_value(p.value, kinds.get(p.parameter_id))}" for p in trial.parameters
    ]


def format_value(value: object, kind: str | None) -> str:
    """A parameter value as Vertex puts it on the command line: integers without a `.0`."""
    if isinstance(value, str):
        return value
    number = float(value)  # type: ignore[arg-type]
    if kind == "integer_value_spec" or (kind == "discrete_value_spec" and number.is_integer()):
        return str(int(number))
    return repr(number)


def parameter_specs(
    parameters: Iterable[StudySpec.ParameterSpec],
) -> Iterator[tuple[StudySpec.ParameterSpec, str]]:
    """Each parameter spec with its kind (`double_value_spec`, `integer_value_spec`...), in spec
    order, each conditional one right after its parent."""
    for parameter in parameters:
        # The proto-plus class's own `pb`: no import of the cloud library here.
        yield parameter, type(parameter).pb(parameter).WhichOneof("parameter_value_spec")
        yield from parameter_specs(c.parameter_spec for c in parameter.conditional_parameter_specs)
