"""Property tests: no input, however odd, ends in a traceback; what loads also compiles."""

from __future__ import annotations

import copy
import json

import yaml
from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.errors import UserError
from scripts.experiments import CompileContext, InvalidExperiments, compile_experiment, load_text
from scripts.experiments.parameters import PARAMETER_KEYS
from scripts.experiments.schema import EXPERIMENT_KEYS, WORKER_POOL_KEYS
from scripts.paths import EXPERIMENTS_FILE

SHIPPED = yaml.safe_load(EXPERIMENTS_FILE.read_text())
# Keys the format knows, so that generated documents reach deep into the rules, plus strangers.
WORDS = sorted(
    {
        *EXPERIMENT_KEYS,
        *PARAMETER_KEYS,
        *WORKER_POOL_KEYS,
        "experiments",
        "defaults",
        "profiles",
        "type",
        "count",
        "when",
        "id",
        "goal",
        "double",
        "integer",
        "discrete",
        "categorical",
        "grid",
        "log",
        "NVIDIA_TESLA_V100",
        "n1-standard-4",
        "${HOME}",
        "${NOPE}",
        "${X:-3}",
        "x",
    }
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.integers(0, 3)), children, max_size=5),
    ),
    max_leaves=30,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_and_compile(text: str) -> None:
    """Either problems or jobs: InvalidExperiments / UserError are the only acceptable failures."""
    try:
        experiments = load_text(text, "f.yaml", {"HOME": "/root"})
        for name in experiments.names:
            compiled = compile_experiment(
                experiments, name, CompileContext(env={"HOME": "/root"}, commit="0" * 40, image_tag="t")
            )
            # what is accepted is a job the API's message takes, field for field
            message = HyperparameterTuningJob.from_json(compiled.to_json())
            printed = HyperparameterTuningJob.to_json(
                message, use_integers_for_enums=False, always_print_fields_with_no_presence=False
            )
            assert json.loads(printed) == compiled.job_json
    except (InvalidExperiments, UserError) as error:
        assert str(error)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text(text):
    load_and_compile(text)


@FAST
@given(values)
def test_arbitrary_yaml_documents(document):
    load_and_compile(yaml.safe_dump(document))


@FAST
@given(st.data())
def test_the_shipped_file_with_one_value_replaced(data):
    document = copy.deepcopy(SHIPPED)
    node = document
    # walk down a random path, then replace what is there
    while isinstance(node, (dict, list)) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if not isinstance(node[key], (dict, list)) or data.draw(st.booleans()):
            node[key] = data.draw(values)
            break
        node = node[key]
    load_and_compile(yaml.safe_dump(document))
