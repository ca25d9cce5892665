"""Where the published GraphQL schemas live, and one cached build of each."""

from __future__ import annotations

import functools
from pathlib import Path

from graphql import GraphQLSchema, build_schema

#: ``<repo>/../shared/schemas`` (see its README); absent on machines without the folder.
SCHEMAS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "schemas"

FILES = {"linear": "linear.graphql", "github": "github.graphql"}


def schema_path(name: str) -> Path:
    return SCHEMAS_DIR / FILES[name]


def missing_reason(name: str) -> str | None:
    """Why the schema cannot be used here, or None when it can."""
    path = schema_path(name)
    if not path.is_file():
        return f"published schema {path.resolve()} is absent (../shared/schemas not checked out)"
    return None


@functools.cache
def load_schema(name: str) -> GraphQLSchema:
    """Build the schema once per process (about a second each)."""
    text = schema_path(name).read_text(encoding="utf-8")
    # GitHub's published SDL repeats a few definitions and breaks a few interface rules;
    # graphql-core must neither re-validate the SDL nor the built schema (on execution).
    github = name == "github"
    return build_schema(text, assume_valid_sdl=github, assume_valid=github)
