"""Where the published GraphQL schemas live, and one cached build of each.

GitHub's schema comes from the npm package ``@octokit/graphql-schema`` (its
``schema.graphql``, the SDL GitHub publishes), which ``.ci/run`` installs at the pinned
version into ``.ci/node`` exactly as it installs codex, so a fresh clone runs the GitHub
contract tests. No pinned package installs Linear's SDL yet, so it is read from
``<repo>/../shared/schemas`` (see its README) and those tests skip, saying so, where that
folder is absent. ``../shared/schemas/github.graphql`` is the fallback for GitHub.
"""

from __future__ import annotations

import functools
from pathlib import Path

from graphql import GraphQLSchema, build_schema

REPO = Path(__file__).resolve().parents[2]
#: ``<repo>/../shared/schemas`` (see its README); absent on machines without the folder.
SCHEMAS_DIR = REPO / ".." / "shared" / "schemas"
#: The pinned npm package ``.ci/run`` installs (keep the version in step with it).
OCTOKIT_SCHEMA = REPO / ".ci" / "node" / "node_modules" / "@octokit" / "graphql-schema"

FILES = {"linear": "linear.graphql", "github": "github.graphql"}


def schema_path(name: str) -> Path:
    """The SDL file used for ``name``: the npm package's for GitHub when installed."""
    if name == "github" and (OCTOKIT_SCHEMA / "schema.graphql").is_file():
        return OCTOKIT_SCHEMA / "schema.graphql"
    return SCHEMAS_DIR / FILES[name]


def missing_reason(name: str) -> str | None:
    """Why the schema cannot be used here, or None when it can."""
    path = schema_path(name)
    if path.is_file():
        return None
    if name == "github":
        return (f"GitHub's published schema is absent: neither {OCTOKIT_SCHEMA}/schema.graphql "
                "(npm @octokit/graphql-schema, installed by .ci/run) nor "
                f"{path.resolve()}")
    return (f"Linear's published schema {path.resolve()} is absent (../shared/schemas not "
            "checked out; no pinned package installs Linear's schema yet)")


@functools.cache
def load_schema(name: str) -> GraphQLSchema:
    """Build the schema once per process (about a second each)."""
    text = schema_path(name).read_text(encoding="utf-8")
    # GitHub's published SDL repeats a few definitions and breaks a few interface rules;
    # graphql-core must neither re-validate the SDL nor the built schema (on execution).
    github = name == "github"
    return build_schema(text, assume_valid_sdl=github, assume_valid=github)
