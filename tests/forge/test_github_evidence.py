"""What the GitHub forge reads for a repair round beyond the classifier's signals: a failing
Actions job's log (through the REST API, with maestro's token, redacted), conversation
comments, and which failing checks are only optional."""

from __future__ import annotations

from fakes.github_forge import TOKEN, ForgeWorld
from forge.conftest import Remote, sh

from maestro.forges.github import GitHubForge, _Pull, to_pull_request
from maestro.forges.logtail import REDACTED
from maestro.model import CheckState, ReviewVerdict

BRANCH = "maestro/ev-1"
LOG = "".join(f"2026-11-30T03:00:{i % 60:02d}.0000000Z step {i}\n" for i in range(2000))
FAILING = LOG + f"2026-11-30T03:01:00.0000000Z git push with {TOKEN}\nError: test_x failed\n"


def opened(forge: GitHubForge, remote: Remote) -> int:
    sh(remote.clone, "checkout", "--quiet", "-B", BRANCH, "main")
    remote.commit("feature.txt", "feature\n", "add feature")
    forge.push(remote.clone, BRANCH)
    return forge.open_pr(BRANCH, "main", "Add feature", "body").number


def test_a_failing_actions_job_gives_its_log_tail_without_the_token(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number = opened(forge, remote)
    world.check(number, "ci", "FAILURE", summary="1 test failed", log=FAILING)
    pr = forge.refresh([number])[number]
    logs = forge.failing_check_logs(pr)
    tail = logs["ci"]
    assert tail.endswith("Error: test_x failed")
    assert TOKEN not in tail and f"git push with {REDACTED}" in tail
    assert len(tail) <= 4000 and tail.startswith("step ")  # whole lines, no timestamps
    assert world.log_reads == [""]  # the storage host never saw the token


def test_a_green_check_or_another_apps_check_reads_no_log(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number = opened(forge, remote)
    world.check(number, "ci", "SUCCESS", log="all good\n")
    world.check(number, "external", "FAILURE", summary="see the dashboard")
    pr = forge.refresh([number])[number]
    assert forge.failing_check_logs(pr) == {}
    assert world.log_reads == []


def test_a_log_that_cannot_be_read_is_a_note_not_an_error(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number = opened(forge, remote)
    world.check(number, "ci", "FAILURE", log="boom\n")
    pr = forge.refresh([number])[number]
    world.checks = {head: [] for head in world.checks}  # the log expired meanwhile
    assert forge.failing_check_logs(pr) == {
        "ci": "(the job log could not be read: HTTP 404)"}


def test_refresh_tells_an_optional_failing_check_from_a_required_one(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number = opened(forge, remote)
    world.check(number, "ci", "SUCCESS", required=True)
    world.check(number, "lint", "FAILURE", required=False)
    checks = {c.name: c for c in forge.refresh([number])[number].checks}
    assert (checks["lint"].state, checks["lint"].required) == (CheckState.FAILURE, False)
    assert checks["ci"].required


def test_refresh_reads_conversation_comments_and_commented_reviews(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number = opened(forge, remote)
    world.comment(number, "please also update the changelog", author="carol")
    world.review(number, "COMMENTED", "nit: naming", author="dave")
    pr = forge.refresh([number])[number]
    assert [(c.author, c.body) for c in pr.comments] == [
        ("carol", "please also update the changelog")]
    assert pr.comments[0].created_at is not None
    assert [(r.author, r.verdict) for r in pr.reviews] == [("dave", ReviewVerdict.COMMENTED)]


def test_a_commit_status_gives_its_description_and_target() -> None:
    raw = {"id": "PR_1", "number": 1, "url": "u", "state": "OPEN", "headRefName": "b",
           "baseRefName": "main", "headRefOid": "h",
           "statusCheckRollup": {"state": "FAILURE", "contexts": {"nodes": [
               {"__typename": "StatusContext", "context": "ci/jenkins", "state": "FAILURE",
                "description": "2 tests failed", "targetUrl": "https://ci.example/7",
                "isRequired": True}]}}}
    [check] = to_pull_request(_Pull.model_validate(raw)).checks
    assert (check.name, check.state, check.required) == ("ci/jenkins", CheckState.FAILURE, True)
    assert check.summary == "2 tests failed\ndetails: https://ci.example/7"
    assert check.details_url == "https://ci.example/7"
