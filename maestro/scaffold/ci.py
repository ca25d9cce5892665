"""The GitHub Actions template for running lanes as CI jobs (``maestro init --ci github``).

A planner job prints the lanes that can move as a matrix; one job per issue runs
``doit lane:<ISSUE>``. The ``concurrency`` group per issue is the cross-machine lock, and
jobs need no state from earlier runs: a lane rebuilds itself from the tracker and forge.
"""

from __future__ import annotations

import re
from pathlib import Path

from maestro import __version__
from maestro.errors import InputError
from maestro.fsutil import write_atomic

WORKFLOW_PATH = Path(".github/workflows/maestro.yml")
#: maestro's distribution name on the package index (the import package and the command
#: stay ``maestro``; the index's ``maestro`` belongs to an unrelated project).
DISTRIBUTION = "maestro-lanes"
_PINNED_NAME = re.compile(re.escape(DISTRIBUTION) + r"==[0-9][0-9A-Za-z.+!-]*")
_PINNED_GIT = re.compile(r"(?:" + re.escape(DISTRIBUTION) + r"\s*@\s*)?"
                         r"git\+(?:https|ssh|file)://[^\s\"']+@[0-9a-f]{40}(?:#[^\s\"']*)?")
CODEX_VERSION = "0.169.0"

GITHUB_WORKFLOW = """\
# maestro lanes as CI jobs. Written by `maestro init --ci github`; edit freely.
# Secrets come from repository secrets into named environment variables only.
name: maestro

on:
  schedule:
    - cron: "*/10 * * * *"
  workflow_dispatch:
    inputs:
      issue:
        description: "Run this issue's lane only (empty: plan every lane that can move)"
        required: false
        default: ""

permissions:
  contents: write
  pull-requests: write
  issues: write

env:
  # maestro, pinned to a source you control. Never a bare "maestro": that name on the
  # public index is another project, and these jobs hold repository tokens.
  MAESTRO_PACKAGE: "{package}"
  LINEAR_API_KEY: ${{{{ secrets.LINEAR_API_KEY }}}}
  GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}

jobs:
  plan:
    runs-on: ubuntu-latest
    outputs:
      matrix: ${{{{ steps.plan.outputs.matrix }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install "$MAESTRO_PACKAGE"
      - id: plan
        env:
          ONLY_ISSUE: ${{{{ inputs.issue }}}}
        run: |
          if [ -n "$ONLY_ISSUE" ]; then
            case "$ONLY_ISSUE" in
              *[!A-Za-z0-9._-]*) echo "bad issue identifier" >&2; exit 2 ;;
            esac
            echo "matrix={{\\"include\\":[{{\\"issue\\":\\"$ONLY_ISSUE\\"}}]}}" >> "$GITHUB_OUTPUT"
          else
            echo "matrix=$(maestro plan --github-matrix)" >> "$GITHUB_OUTPUT"
          fi

  lane:
    needs: plan
    if: ${{{{ fromJSON(needs.plan.outputs.matrix).include[0] != null }}}}
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      max-parallel: 10
      matrix: ${{{{ fromJSON(needs.plan.outputs.matrix) }}}}
    concurrency:
      group: maestro-lane-${{{{ matrix.issue }}}}
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - uses: actions/setup-node@v4
        with:
          node-version: "20"
      - run: npm install -g @openai/codex@{codex_version}
      - run: pip install "$MAESTRO_PACKAGE"
      - name: run the lane as far as it can go
        run: doit lane:${{{{ matrix.issue }}}}
"""


def default_package() -> str:
    """This very version of maestro, by its distribution name on the package index."""
    return f"{DISTRIBUTION}=={__version__}"


def pinned_package(requirement: str) -> str:
    """Check that ``requirement`` names one fixed build of maestro from a source the operator
    controls: ``maestro-lanes==X.Y.Z`` or a ``git+URL@<40-hex commit>`` (optionally as
    ``maestro-lanes @ git+…``). Raises :class:`InputError` naming ``--ci-package`` otherwise."""
    text = requirement.strip()
    if _PINNED_NAME.fullmatch(text) or _PINNED_GIT.fullmatch(text):
        return text
    raise InputError(
        f"--ci-package: {requirement!r} is not pinned; expected {DISTRIBUTION}==VERSION or "
        "git+URL@COMMIT (a full 40-character commit); a bare 'maestro' on the public index "
        "is another project")


def github_workflow(package: str | None = None) -> str:
    return GITHUB_WORKFLOW.format(codex_version=CODEX_VERSION,
                                  package=pinned_package(package or default_package()))


def write_github_workflow(root: Path, force: bool = False, package: str | None = None) -> Path:
    path = root / WORKFLOW_PATH
    if path.exists() and not force:
        raise InputError(f"{path}: already exists (use --force to overwrite)")
    write_atomic(path, github_workflow(package))
    return path
