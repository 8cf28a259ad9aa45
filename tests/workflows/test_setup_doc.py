"""docs/setup.md against the workflows: one set of variable names, files that parse, sources cited.

The setup page is pasted into shells by people setting up a fork, so what can be checked offline
is checked here: every repository variable a workflow reads is documented (and set or named in
the teardown) under the same name, no documented variable is unknown to the workflows, the JSON
files it writes are valid JSON of the expected shape, and every `[tag]` it cites is listed
under Sources.
"""

from __future__ import annotations

import json
import re

from tests.workflows.workflows import REPO_ROOT, WORKFLOWS

SETUP = REPO_ROOT / "docs" / "setup.md"


def _text() -> str:
    return SETUP.read_text(encoding="utf-8")


def _workflow_variables() -> set[str]:
    names: set[str] = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        names |= set(re.findall(r"\bvars\.([A-Z][A-Z0-9_]*)", path.read_text(encoding="utf-8")))
    return names


def _documented_variables(text: str) -> set[str]:
    """The first column of the repository-variables table."""
    section = text.split("## 7. GitHub repository variables", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", section, flags=re.MULTILINE))


def _teardown(text: str) -> str:
    return text.split("## Teardown", 1)[1].split("\n## ", 1)[0]


def test_the_variables_the_workflows_read_are_the_documented_ones():
    text = _text()
    read = _workflow_variables()
    assert read, "no vars.NAME found in the workflows"
    assert _documented_variables(text) == read


def test_every_required_variable_is_set_and_every_variable_is_removed_in_the_teardown():
    text = _text()
    set_names = set(re.findall(r"gh variable set ([A-Z][A-Z0-9_]*)", text))
    optional = {"HPT_ENVIRONMENT", "HPT_FOLLOW_MINUTES"}  # defaults in the workflows
    assert _workflow_variables() - optional <= set_names
    teardown = _teardown(text)
    assert all(name in teardown for name in _workflow_variables())


def _json_blocks(text: str) -> list[object]:
    return [json.loads(block) for block in re.findall(r"<<'JSON'\n(.*?)\nJSON\n", text, flags=re.DOTALL)]


def test_the_policy_files_are_json_of_the_shape_gcloud_reads():
    blocks = _json_blocks(_text())
    cleanup = [block for block in blocks if isinstance(block, list)]
    lifecycle = [block for block in blocks if isinstance(block, dict) and "lifecycle" in block]
    assert len(cleanup) == 1 and len(lifecycle) == 1
    actions = {rule["action"]["type"] for rule in cleanup[0]}
    assert actions == {"Delete", "Keep"}
    for rule in cleanup[0]:
        assert ("condition" in rule) != ("mostRecentVersions" in rule)
    prefixes = {p for rule in lifecycle[0]["lifecycle"]["rule"] for p in rule["condition"]["matchesPrefix"]}
    # the prefixes this repository writes: build sources (scripts/cloudbuild) and job outputs
    assert prefixes == {"hpt-build-source/", "hpt/"}


def test_the_lifecycle_prefixes_are_the_ones_the_code_writes():
    from scripts.cloudbuild import submit

    assert f"{submit.SOURCE_PREFIX}/" == "hpt-build-source/"
    compiler = (REPO_ROOT / "scripts" / "experiments" / "compiler.py").read_text(encoding="utf-8")
    assert 'f"{settings.staging_bucket}/hpt"' in compiler


def test_every_cited_source_is_listed():
    text = _text()
    body, sources = text.split("## Sources", 1)
    cited = set(re.findall(r"\[([a-z][a-z0-9-]+)\](?!\()", body))
    listed = set(re.findall(r"^- \[([a-z][a-z0-9-]+)\]", sources, flags=re.MULTILINE))
    assert cited <= listed, sorted(cited - listed)
    assert listed <= cited, sorted(listed - cited)


def test_the_roles_doctor_asks_for_are_the_ones_the_page_grants_the_deployer():
    """A newcomer who follows the page and then runs doctor as the deployer sees no ✗ for roles."""
    from scripts.doctor import needs

    granted = set(re.findall(r'--member="serviceAccount:\$DEPLOYER" --role=(roles/[\w.]+)', _text()))
    asked = {role for role, _ in needs.PROJECT_PERMISSIONS.values()}
    asked |= {needs.ACT_AS_ROLE, *needs.BUCKET_PERMISSIONS.values(), *needs.REPOSITORY_PERMISSIONS.values()}
    assert asked <= granted, asked - granted


def test_the_apis_doctor_checks_are_the_ones_the_page_enables():
    from scripts.doctor import needs

    block = _text().split("gcloud services enable", 1)[1].split("```", 1)[0]
    enabled = set(re.findall(r"\b([a-z]+\.googleapis\.com)\b", block))
    assert set(needs.RUN_APIS) | set(needs.DOCTOR_APIS) <= enabled
