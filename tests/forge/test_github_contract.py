"""Every GraphQL document the GitHub forge sends is valid against the published schema.

Skips (with the reason) where ``../shared/schemas`` is absent, through the ``github_schema``
fixture.
"""

from __future__ import annotations

import pytest
from fakes.github_forge import ForgeWorld
from fakes.graphql_service import GraphQLService
from fakes.loopback import LoopbackServer
from forge.conftest import Remote, sh
from graphql import GraphQLSchema, parse, validate

from maestro.forges import github

DOCUMENTS = {
    "find": github.FIND_QUERY,
    "open": github.OPEN_QUERY,
    "pull": github.PR_QUERY,
    "repository": github.REPOSITORY_QUERY,
    "create": github.CREATE_MUTATION,
    "merge": github.MERGE_MUTATION,
    "close": github.CLOSE_MUTATION,
    "comment on a PR": github.PR_COMMENT_MUTATION,
    "delete ref": github.DELETE_REF_MUTATION,
    "refresh one": github.refresh_query([7]),
    "refresh many": github.refresh_query([1, 2, 30]),
    "resolve one": github.resolve_mutation(1),
    "resolve many": github.resolve_mutation(4),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_schema(github_schema: GraphQLSchema, name: str) -> None:
    problems = validate(github_schema, parse(DOCUMENTS[name]))
    assert [p.message for p in problems] == []


def test_a_whole_lifecycle_sends_only_valid_documents(forge: github.GitHubForge, remote: Remote,
                                                      world: ForgeWorld,
                                                      server: LoopbackServer) -> None:
    sh(remote.clone, "checkout", "--quiet", "-B", "maestro/x-1", "main")
    head = remote.commit("x.txt", "x\n", "x")
    forge.push(remote.clone, "maestro/x-1")
    number = forge.open_pr("maestro/x-1", "main", "x", "").number
    world.review(number, "CHANGES_REQUESTED", "fix", path="x.txt", line=1)
    world.check(number, "ci", "SUCCESS")
    forge.refresh([number])
    forge.resolve_threads(number)
    world.review(number, "APPROVED", "ok")
    forge.find_pr("maestro/x-1")
    forge.merge(number, head, "rebase")
    forge.delete_branch("maestro/x-1")
    forge.close_pr(number, comment="closed: the issue was cancelled")
    service = server.handler
    assert isinstance(service, GraphQLService)
    operations = {r.operation for r in server.requests}
    assert operations >= {"MaestroForgeFind", "MaestroForgeRepository", "MaestroForgeCreate",
                          "MaestroForgeRefresh", "MaestroForgePull", "MaestroForgeResolve",
                          "MaestroForgeMerge", "MaestroForgeDeleteRef"}
    assert service.invalid == []
    assert service.unexpected == []
