"""Contract: every GraphQL document the adapters can send is valid against the published
schema, and the loopback fakes can only answer in that schema's shapes."""

from __future__ import annotations

import pytest
from fakes.linear_server import LinearWorld, linear_service
from fakes.loopback import Request
from fakes.schemas import load_schema, missing_reason
from graphql import GraphQLInputObjectType, GraphQLSchema, coerce_input_value, parse, validate
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro.trackers import github as github_adapter
from maestro.trackers import linear as linear_adapter
from maestro.trackers.http import GraphQLClient


def problems(schema: GraphQLSchema, document: str) -> list[str]:
    return [error.message for error in validate(schema, parse(document))]


@pytest.mark.parametrize("name", sorted(linear_adapter.DOCUMENTS))
def test_every_linear_document_validates_against_the_published_schema(
        linear_schema: GraphQLSchema, name: str) -> None:
    assert problems(linear_schema, linear_adapter.DOCUMENTS[name]) == []


@pytest.mark.parametrize("name", sorted(github_adapter.DOCUMENTS))
def test_every_github_document_validates_against_the_published_schema(
        github_schema: GraphQLSchema, name: str) -> None:
    assert problems(github_schema, github_adapter.DOCUMENTS[name]) == []


@pytest.mark.parametrize("count", [1, 50, 250])
def test_the_github_batched_refresh_validates_for_any_batch_size(
        github_schema: GraphQLSchema, count: int) -> None:
    assert problems(github_schema, github_adapter.refresh_query(range(1, count + 1))) == []


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=40,
                unique=True))
def test_the_github_refresh_validates_for_any_issue_numbers(numbers: list[int]) -> None:
    if missing_reason("github"):
        pytest.skip(str(missing_reason("github")))
    assert problems(load_schema("github"), github_adapter.refresh_query(numbers)) == []


def test_every_document_names_its_operation_as_registered() -> None:
    for registry in (linear_adapter.DOCUMENTS, github_adapter.DOCUMENTS):
        for name, document in registry.items():
            head = document.strip().split("(")[0].split("{")[0].split()
            assert head[1] == name, (name, head)


def test_a_document_outside_the_schema_is_refused_by_the_fake(
        linear_schema: GraphQLSchema) -> None:
    service = linear_service(LinearWorld())
    request = Request("POST", "/graphql", {"authorization": "lin_api_fake_0123456789abcdef"},
                      b'{"query": "query { issues { nodes { notAField } } }"}')
    reply = service(request)
    assert reply.status == 400 and service.invalid
    assert "notAField" in service.invalid[0][1][0]


def test_a_fake_answer_that_breaks_the_schema_is_caught(linear_schema: GraphQLSchema) -> None:
    world = LinearWorld()
    issue = world.add_issue("task", "Todo")
    issue.title = None  # type: ignore[assignment]  # Issue.title is String! in the schema
    service = linear_service(world)
    body = (b'{"query": "query { issues(first: 5) { nodes { identifier title } } }"}')
    service(Request("POST", "/graphql", {"authorization": "lin_api_fake_0123456789abcdef"},
                    body))
    assert any("Issue.title" in message for message in service.unexpected)


def test_the_fake_refuses_requests_without_the_key(linear_schema: GraphQLSchema) -> None:
    service = linear_service(LinearWorld())
    reply = service(Request("POST", "/graphql", {}, b'{"query": "{ viewer { id } }"}'))
    assert reply.status == 401


_IDENTIFIERS = st.lists(
    st.builds(lambda key, n: f"{key}-{n}",
              st.sampled_from(["ENG", "OPS", "eng", "A1"]), st.integers(1, 10**6)),
    min_size=1, max_size=60)


@settings(max_examples=30, deadline=None)
@given(_IDENTIFIERS)
def test_the_linear_refresh_filter_is_a_valid_issue_filter(identifiers: list[str]) -> None:
    if missing_reason("linear"):
        pytest.skip(str(missing_reason("linear")))
    schema = load_schema("linear")
    tracker = linear_adapter.LinearTracker(GraphQLClient("linear", "http://127.0.0.1:9",
                                                         dict), "slug")
    issue_filter = schema.type_map["IssueFilter"]
    assert isinstance(issue_filter, GraphQLInputObjectType)
    coerce_input_value(tracker._refresh_filter(identifiers), issue_filter)  # raises if invalid
