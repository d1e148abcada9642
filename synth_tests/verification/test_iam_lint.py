"""Policy tier, IAM lint: parliament on every policy document of every stack, judged against
iam_lint_allow.toml.

The `policy`-marked tests run the real parliament (from .venv-checkov, see the Makefile). The
unmarked tests prove the harness itself (reference placeholders, trust-policy resources, where the
documents are found, the allow file) without parliament, so a harness that silently lints nothing
is caught in the quick tier.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from iam_lint_harness import (
    PLACEHOLDERS,
    Allow,
    LintResult,
    ParliamentNotFound,
    ParliamentRun,
    PolicyDocument,
    UnknownReference,
    collect_documents,
    evaluate,
    extract_documents,
    find_parliament,
    interpreter_of,
    load_allow,
    pinned_parliament_version,
    render_for_lint,
    role_arn,
    run_parliament,
    stack_files,
    substitute_in,
    substitute_references,
    with_trust_resource,
)
from policy_tools import example_stack_files

EXPECTED_STACKS = {"bootstrap", "dev", "stg", "prod"}
CLOUD_BOOTSTRAP = "terraform-cloud-bootstrap"
STATE_GRANTS_BOOTSTRAP = "multi-account-bootstrap"
PIPELINES = "codepipeline-prod"


# --- the real lint ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parliament() -> Path:
    try:
        return find_parliament()
    except ParliamentNotFound as exc:  # a failure, not a skip: `make test` promises the lint ran
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def iam_lint(
    fresh_synth: Path, parliament: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Path], list[PolicyDocument], list[str], ParliamentRun]:
    """Every policy document of the fresh synth and of the cloud bootstrap, linted in one parliament run."""
    files = stack_files(fresh_synth)
    assert set(files) >= EXPECTED_STACKS, f"synth produced stacks {sorted(files)}"
    files |= example_stack_files(tmp_path_factory.mktemp("examples"))
    documents, problems = collect_documents(files)
    started = time.monotonic()
    run = run_parliament(parliament, documents)
    print(f"parliament {run.version} linted {len(documents)} documents in {time.monotonic() - started:.1f}s")
    return files, documents, problems, run


@pytest.fixture(scope="module")
def lint_result(
    iam_lint: tuple[dict[str, Path], list[PolicyDocument], list[str], ParliamentRun],
) -> LintResult:
    files, documents, problems, run = iam_lint
    return evaluate(
        documents,
        run.findings,
        load_allow(),
        stacks=list(files),
        extraction_problems=problems,
        lint_errors=run.errors,
    )


def _fail_on(result: LintResult, *kinds: str) -> None:
    """Fail with the readable list only (the LintResult repr would bury it)."""
    message = result.format(*kinds)
    if message:
        pytest.fail(message, pytrace=False)


@pytest.mark.policy
def test_parliament_is_the_pinned_version(iam_lint: tuple[Any, Any, Any, ParliamentRun]) -> None:
    version = iam_lint[3].version
    assert version == pinned_parliament_version(), (
        f"parliament {version} ran, the allow file is written against {pinned_parliament_version()}"
    )


@pytest.mark.policy
def test_every_policy_document_was_read_and_linted(lint_result: LintResult) -> None:
    _fail_on(lint_result, "extraction_problems")
    empty = [stack for stack, count in lint_result.documents_per_stack.items() if count == 0]
    assert not empty, f"no policy document linted in {empty}"


@pytest.mark.policy
def test_every_finding_is_allowed_with_a_reason(lint_result: LintResult) -> None:
    _fail_on(lint_result, "unallowed", "ambiguous")


@pytest.mark.policy
def test_no_allow_entry_is_stale(lint_result: LintResult) -> None:
    _fail_on(lint_result, "stale")


@pytest.mark.policy
def test_cross_account_state_grants_are_linted(lint_result: LintResult, iam_lint: tuple[Any, ...]) -> None:
    """The state bucket, key and lock table policies of examples/multi-account/ (one grant per
    environment account) are among the documents linted, and nothing on them is unallowed."""
    documents = [d for d in iam_lint[1] if d.stack == STATE_GRANTS_BOOTSTRAP]
    linted = {(d.address.split(".")[0], d.attribute) for d in documents}
    assert {
        ("aws_s3_bucket_policy", "policy"),
        ("aws_kms_key", "policy"),
        ("aws_dynamodb_resource_policy", "policy"),
    } <= linted
    grants = [d for d in documents if "UsesStateKey" in d.text or "LockDevState" in d.text]
    assert len(grants) == 2, "the key policy and the lock table policy carry the grants"
    assert not [line for line in lint_result.unallowed if line.startswith(f"{STATE_GRANTS_BOOTSTRAP}:")]


@pytest.mark.policy
def test_terraform_cloud_trust_is_linted(lint_result: LintResult, iam_lint: tuple[Any, ...]) -> None:
    """The run roles' trust and the plan roles' own policy are among the documents linted, and every
    finding on them is allowed (the lint's other tests fail on any that is not, or on a stale entry)."""
    documents = [d for d in iam_lint[1] if d.stack == CLOUD_BOOTSTRAP]
    linted = {(d.address.split(".")[0], d.attribute, d.kind) for d in documents}
    assert linted == {
        ("aws_iam_role", "assume_role_policy", "trust"),
        ("aws_iam_role_policy", "policy", "identity"),
    }
    roles = {d.address for d in documents if d.kind == "trust"}
    assert len(roles) == 4 and all(r.endswith(("_plan_role", "_apply_role")) for r in roles)
    assert not [line for line in lint_result.unallowed if line.startswith(f"{CLOUD_BOOTSTRAP}:")]


@pytest.mark.policy
def test_delivery_roles_are_linted(lint_result: LintResult, iam_lint: tuple[Any, ...]) -> None:
    """The GitHub Actions roles of every shipped environment and the CodeBuild and CodePipeline roles
    of examples/codepipeline/ are among the documents linted: each role's trust policy and its own
    policy (the lint's other tests fail on any finding no entry allows)."""
    documents = iam_lint[1]
    for stack in EXPECTED_STACKS - {"bootstrap"}:
        github = {(d.address, d.kind) for d in documents if d.stack == stack and ".github_" in d.address}
        assert {
            (f"aws_iam_role.github_{purpose}_role", "trust") for purpose in ("deploy", "plan", "apply")
        } | {
            ("aws_iam_role_policy.github_deploy_policy", "identity"),
            ("aws_iam_role_policy.github_plan_policy", "identity"),
        } <= github, (stack, github)
    pipelines = {
        (d.address, d.kind) for d in documents if d.stack == PIPELINES and ".pipelines_" in d.address
    }
    for service in ("web", "worker"):  # the example's built services; `proxy` has its own image
        for role in ("build", "pipeline"):
            assert (f"aws_iam_role.pipelines_{service}_{role}_role", "trust") in pipelines
            assert (f"aws_iam_role_policy.pipelines_{service}_{role}_role_policy", "identity") in pipelines
    assert not any("pipelines_proxy_" in address for address, _ in pipelines)


@pytest.mark.policy
def test_allow_entries_name_issues_parliament_knows(iam_lint: tuple[Any, Any, Any, ParliamentRun]) -> None:
    known = iam_lint[3].issues
    unknown = [a.label() for a in load_allow() if a.issue not in known]
    assert not unknown, f"not a parliament {iam_lint[3].version} issue key: {unknown}"


@pytest.mark.policy
def test_the_lint_reports_a_bad_statement_by_its_sid(parliament: Path) -> None:
    """The whole chain (placeholders, driver, Sid lines) on a grant AWS never matches."""
    stack = {
        "resource": {
            "aws_iam_role_policy": {
                "bad": {
                    "policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "Fine",
                                    "Effect": "Allow",
                                    "Action": "logs:PutLogEvents",
                                    "Resource": "${aws_cloudwatch_log_group.group.arn}:*",
                                },
                                {
                                    "Sid": "NeverMatches",
                                    "Effect": "Allow",
                                    "Action": "logs:DescribeLogGroups",
                                    "Resource": "${aws_cloudwatch_log_group.group.arn}",
                                },
                            ],
                        }
                    )
                }
            }
        }
    }
    documents, problems = extract_documents("dev", stack)
    assert problems == []
    run = run_parliament(parliament, documents)
    result = evaluate(documents, run.findings, [], stacks=["dev"], lint_errors=run.errors)
    assert result.extraction_problems == []
    assert [line.split(": ")[1] for line in result.unallowed] == [
        "RESOURCE_MISMATCH (MEDIUM) aws_iam_role_policy.bad.policy [Sid NeverMatches]"
    ]


# --- placeholders (no parliament needed) ------------------------------------------------------


def test_references_become_typed_placeholders() -> None:
    assert (
        substitute_references("${aws_cloudwatch_log_group.network_flow_log_group.arn}:*")
        == "arn:aws:logs:eu-west-1:111111111111:log-group:placeholder:*"
    )
    assert re.fullmatch(
        r"arn:aws:kms:eu-west-1:111111111111:key/[0-9a-f-]{36}",
        substitute_references("${aws_kms_key.key_key.arn}"),
    )
    assert (
        substitute_references("${aws_ecr_repository.repositories_api.arn}")
        == "arn:aws:ecr:eu-west-1:111111111111:repository/placeholder"
    )
    assert substitute_references("${aws_s3_bucket.b.arn}/*") == "arn:aws:s3:::placeholder-bucket/*"
    assert substitute_references("${data.aws_caller_identity.current.account_id}") == "111111111111"


def test_every_placeholder_arn_has_six_parts() -> None:
    for (rtype, attribute), value in PLACEHOLDERS.items():
        if value.startswith("arn:"):
            assert len(value.split(":")) >= 6, f"{rtype}.{attribute}: {value}"


def test_a_nested_block_attribute_has_its_own_placeholder() -> None:
    secret = substitute_references(
        "${aws_db_instance.database_instance.master_user_secret[0].secret_arn}:password::"
    )
    assert secret.startswith("arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!db-")
    assert secret.endswith(":password::")


def test_escaped_interpolation_is_an_iam_policy_variable() -> None:
    assert substitute_references("home/$${aws:username}/*") == "home/${aws:username}/*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${aws_lambda_function.f.arn}", r"no placeholder for aws_lambda_function\.\*\.arn"),
        ("${aws_kms_key.k.tags_all}", r"no placeholder for aws_kms_key\.\*\.tags_all"),
        ("${aws_kms_key.k[0].arn}", r"not a plain `type\.name\.attribute` reference"),
        ("${aws_db_instance.d.master_user_secret[1].secret_arn}", r"not a plain `type\.name\.attribute`"),
        (
            "${aws_db_instance.d.endpoint[0].address}",
            r"no placeholder for aws_db_instance\.\*\.endpoint\[0\]\.address",
        ),
        ('${join(",", var.x)}', r"not a plain `type\.name\.attribute` reference"),
        ("${aws_kms_key.k.arn", "unterminated reference"),
        ("%{ if true }x%{ endif }", "template directives are not linted"),
    ],
)
def test_unknown_references_fail_clearly(text: str, message: str) -> None:
    with pytest.raises(UnknownReference, match=message):
        substitute_references(text)


def test_every_unknown_reference_is_named_at_once() -> None:
    policy = {"Statement": [{"Resource": ["${aws_a.x.arn}", "${aws_b.y.arn}"]}]}
    with pytest.raises(UnknownReference, match=r"aws_a\.\*\.arn.*; .*aws_b\.\*\.arn"):
        substitute_in(policy)
    with pytest.raises(UnknownReference, match=r"aws_a\.\*\.arn.*; .*aws_b\.\*\.arn"):
        substitute_references("${aws_a.x.arn} ${aws_b.y.arn}")


def test_condition_keys_are_substituted_too() -> None:
    policy = {"Condition": {"StringEquals": {"${aws_iam_role.r.name}:sub": "repo:acme/*"}}}
    assert substitute_in(policy) == {"Condition": {"StringEquals": {"placeholder:sub": "repo:acme/*"}}}


# --- trust policies ---------------------------------------------------------------------------


def test_a_trust_policy_is_linted_with_its_roles_arn_as_resource() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "NotResource": "x"},
        ],
    }
    arn = role_arn({"name": "acme-dev-api-task", "path": "/service/"}, "services_api_task_role")
    assert arn == "arn:aws:iam::111111111111:role/service/acme-dev-api-task"
    linted = with_trust_resource(trust, arn)
    assert linted["Statement"][0]["Resource"] == arn
    assert "Resource" not in linted["Statement"][1]
    assert "Resource" not in trust["Statement"][0], "the stack's own document is never changed"


def test_a_role_without_a_literal_name_is_named_after_its_address() -> None:
    assert role_arn({"name_prefix": "x-"}, "cluster_instance_role").endswith(":role/cluster_instance_role")
    assert role_arn({"name": "${var.n}"}, "r").endswith(":role/r")


# --- finding the documents --------------------------------------------------------------------

FLOW_LOG_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "WriteFlowLogs",
            "Effect": "Allow",
            "Action": "logs:PutLogEvents",
            "Resource": "${aws_cloudwatch_log_group.network_flow_log_group.arn}:*",
        },
        {
            "Sid": "FlowLogsFindLogGroup",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",
        },
    ],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _stack(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resources}


def test_every_kind_of_document_is_found() -> None:
    stack = _stack(
        aws_iam_role={
            "network_flow_log_role": {
                "name": "acme-dev-vpc-flow-logs",
                "assume_role_policy": json.dumps(TRUST),
                "inline_policy": [{"name": "inline", "policy": json.dumps(FLOW_LOG_POLICY)}],
            }
        },
        aws_iam_role_policy={"network_flow_log_role_policy": {"policy": json.dumps(FLOW_LOG_POLICY)}},
        aws_kms_key={"key_key": {"policy": json.dumps(TRUST)}},
        aws_vpc={"vpc": {"cidr_block": "10.0.0.0/16"}},
    )
    documents, problems = extract_documents("dev", stack)
    assert problems == []
    found = {(d.address, d.attribute, d.kind) for d in documents}
    assert found == {
        ("aws_iam_role.network_flow_log_role", "assume_role_policy", "trust"),
        ("aws_iam_role.network_flow_log_role", "inline_policy[0].policy", "identity"),
        ("aws_iam_role_policy.network_flow_log_role_policy", "policy", "identity"),
        ("aws_kms_key.key_key", "policy", "resource"),
    }
    (trust,) = [d for d in documents if d.kind == "trust"]
    assert json.loads(trust.text)["Statement"][0]["Resource"] == (
        "arn:aws:iam::111111111111:role/acme-dev-vpc-flow-logs"
    )
    (kms,) = [d for d in documents if d.kind == "resource"]
    assert "Resource" not in json.loads(kms.text)["Statement"][0], "only trust policies get one"
    policy = [d for d in documents if d.address.startswith("aws_iam_role_policy")][0]
    assert "${" not in policy.text and "log-group:placeholder:*" in policy.text


def test_a_policy_in_an_unlisted_place_is_a_problem() -> None:
    stack = _stack(aws_glacier_vault={"archive": {"access_policy": json.dumps(TRUST)}})
    documents, problems = extract_documents("dev", stack)
    assert documents == []
    assert problems == [
        "dev: aws_glacier_vault.archive.access_policy: a policy document in a place "
        "POLICY_ATTRIBUTES does not list (add its resource type, attribute and kind)"
    ]


def test_a_policy_that_is_not_written_out_is_a_problem() -> None:
    stack = _stack(aws_iam_role_policy={"p": {"policy": "${data.aws_iam_policy_document.d.json}"}})
    documents, problems = extract_documents("dev", stack)
    assert documents == []
    assert len(problems) == 1 and "not a literal JSON policy" in problems[0]


def test_an_unknown_reference_is_a_problem_naming_the_document() -> None:
    policy = dict(
        FLOW_LOG_POLICY, Statement=[{"Effect": "Allow", "Action": "*", "Resource": "${aws_x.y.arn}"}]
    )
    documents, problems = extract_documents(
        "dev", _stack(aws_iam_policy={"p": {"policy": json.dumps(policy)}})
    )
    assert documents == []
    assert problems == [
        "dev: aws_iam_policy.p.policy: ${aws_x.y.arn}: no placeholder for aws_x.*.arn "
        "(add a typed one to PLACEHOLDERS in synth_tests/verification/iam_lint_harness.py)"
    ]


def test_each_statement_is_on_the_line_that_names_its_sid() -> None:
    text, sids = render_for_lint(FLOW_LOG_POLICY)
    assert json.loads(text) == FLOW_LOG_POLICY
    lines = text.splitlines()
    assert sids == ("WriteFlowLogs", "FlowLogsFindLogGroup")
    assert '"Sid": "WriteFlowLogs"' in lines[1] and '"Sid": "FlowLogsFindLogGroup"' in lines[2]
    single, single_sids = render_for_lint({"Version": "2012-10-17", "Statement": {"Sid": "Only"}})
    assert json.loads(single)["Statement"] == {"Sid": "Only"} and single_sids == ("Only",)
    assert '"Sid": "Only"' in single.splitlines()[1]


def test_the_committed_synth_has_no_unreadable_policy(fresh_synth: Path) -> None:
    """Every document of the real stacks can be linted: all its references have placeholders."""
    documents, problems = collect_documents(stack_files(fresh_synth))
    assert problems == []
    kinds = {(d.stack, d.kind) for d in documents}
    for stack in EXPECTED_STACKS - {"bootstrap"}:
        assert {(stack, "identity"), (stack, "trust"), (stack, "resource")} <= kinds, stack
    assert ("bootstrap", "resource") in kinds


# --- judging findings against the allow file --------------------------------------------------


def _document(
    stack: str = "dev", address: str = "aws_iam_role_policy.p", attribute: str = "policy"
) -> PolicyDocument:
    text, sids = render_for_lint(FLOW_LOG_POLICY)
    return PolicyDocument(stack, address, attribute, "identity", text, sids)


def _finding(issue: str, line: int | None = None) -> dict[str, Any]:
    location = {"line": line, "column": 1} if line is not None else {"actions": ["x"]}
    return {"issue": issue, "severity": "MEDIUM", "title": "t", "detail": "d", "location": location}


def _allow(issue: str, resource: str, stacks: list[str], index: int = 0, **optional: str) -> Allow:
    return Allow(issue, resource, tuple(stacks), "a justification long enough", index, **optional)


def test_a_finding_is_located_by_its_statements_sid() -> None:
    doc = _document()
    result = evaluate(
        [doc],
        {doc.id: [_finding("RESOURCE_MISMATCH", line=3), _finding("CREDENTIALS_EXPOSURE")]},
        [],
        stacks=["dev"],
    )
    assert result.unallowed == [
        "dev: CREDENTIALS_EXPOSURE (MEDIUM) aws_iam_role_policy.p.policy: t: d",
        "dev: RESOURCE_MISMATCH (MEDIUM) aws_iam_role_policy.p.policy [Sid FlowLogsFindLogGroup]: t: d",
    ]


def test_allowed_findings_pass_and_unlisted_ones_fail() -> None:
    doc = _document()
    allows = [_allow("RESOURCE_MISMATCH", "aws_iam_role_policy.*", ["dev"], sid="FlowLogsFindLogGroup")]
    findings = {doc.id: [_finding("RESOURCE_MISMATCH", line=3), _finding("RESOURCE_MISMATCH", line=2)]}
    result = evaluate([doc], findings, allows, stacks=["dev"])
    assert len(result.allowed) == 1 and "[Sid FlowLogsFindLogGroup]" in result.allowed[0]
    assert len(result.unallowed) == 1 and "[Sid WriteFlowLogs]" in result.unallowed[0]
    assert result.stale == []


def test_an_entry_with_a_sid_never_matches_a_whole_policy_finding() -> None:
    doc = _document()
    allows = [_allow("CREDENTIALS_EXPOSURE", "aws_iam_role_policy.p", ["dev"], sid="*")]
    result = evaluate([doc], {doc.id: [_finding("CREDENTIALS_EXPOSURE")]}, allows, stacks=["dev"])
    assert len(result.unallowed) == 1 and len(result.stale) == 1


def test_the_attribute_narrows_an_entry() -> None:
    trust = _document(address="aws_iam_role.r", attribute="assume_role_policy")
    inline = _document(address="aws_iam_role.r", attribute="inline_policy[0].policy")
    allows = [_allow("CREDENTIALS_EXPOSURE", "aws_iam_role.*", ["dev"], attribute="assume_role_policy")]
    findings = {trust.id: [_finding("CREDENTIALS_EXPOSURE")], inline.id: [_finding("CREDENTIALS_EXPOSURE")]}
    result = evaluate([trust, inline], findings, allows, stacks=["dev"])
    assert len(result.allowed) == 1 and len(result.unallowed) == 1
    assert "inline_policy[0].policy" in result.unallowed[0]


def test_stale_entries_are_reported_per_stack() -> None:
    dev, prod = _document("dev"), _document("prod")
    allows = [
        _allow("RESOURCE_MISMATCH", "aws_iam_role_policy.p", ["dev", "prod", "qa"], index=0),
        _allow("RESOURCE_STAR", "aws_kms_key.*", ["dev"], index=1),
    ]
    findings = {dev.id: [_finding("RESOURCE_MISMATCH", line=3)], prod.id: []}
    result = evaluate([dev, prod], findings, allows, stacks=["dev", "prod"])
    assert result.unallowed == []
    assert result.stale == [
        "allow[0] (RESOURCE_MISMATCH on aws_iam_role_policy.p) for stack prod: no finding matches it",
        "allow[0] (RESOURCE_MISMATCH on aws_iam_role_policy.p) for stack qa: that stack was not scanned",
        "allow[1] (RESOURCE_STAR on aws_kms_key.*) for stack dev: no finding matches it",
    ]


def test_a_finding_matched_twice_is_reported() -> None:
    doc = _document()
    allows = [
        _allow("RESOURCE_MISMATCH", "aws_iam_role_policy.p", ["dev"], index=0),
        _allow("RESOURCE_MISMATCH", "aws_iam_role_policy.*", ["dev"], index=1),
    ]
    result = evaluate([doc], {doc.id: [_finding("RESOURCE_MISMATCH", line=3)]}, allows, stacks=["dev"])
    assert len(result.ambiguous) == 1 and result.stale == []


def test_documents_parliament_could_not_lint_are_problems() -> None:
    failed, missing = _document(address="aws_iam_policy.a"), _document(address="aws_iam_policy.b")
    result = evaluate(
        [failed, missing], {}, [], stacks=["dev"], lint_errors={failed.id: "Exception: Unexpected format"}
    )
    assert result.extraction_problems == [
        "dev:aws_iam_policy.a.policy: parliament failed: Exception: Unexpected format",
        "dev:aws_iam_policy.b.policy: parliament returned no result",
    ]


# --- the allow file loader: see test_allowlist.py (it tests both harnesses' files) ------------


# --- finding parliament -----------------------------------------------------------------------


def test_parliament_lookup_fails_clearly_without_a_binary(tmp_path: Path) -> None:
    with pytest.raises(
        ParliamentNotFound, match=r"\$PARLIAMENT is unset and .*\.venv-checkov/bin/parliament"
    ):
        find_parliament(environ={}, root=tmp_path)
    with pytest.raises(ParliamentNotFound, match=r"PARLIAMENT='/nowhere/parliament' is not an executable"):
        find_parliament(environ={"PARLIAMENT": "/nowhere/parliament"}, root=tmp_path)
    fallback = tmp_path / ".venv-checkov" / "bin" / "parliament"
    fallback.parent.mkdir(parents=True)
    fallback.write_text("#!/bin/sh\n", encoding="utf-8")
    fallback.chmod(0o755)
    assert find_parliament(environ={}, root=tmp_path) == fallback


def test_the_interpreter_is_read_from_either_shebang_pip_writes(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("", encoding="utf-8")
    short = tmp_path / "short"
    short.write_text(f"#!{python}\nimport sys\n", encoding="utf-8")
    assert interpreter_of(short) == python
    long_form = tmp_path / "long"
    long_form.write_text(f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\n", encoding="utf-8")
    assert interpreter_of(long_form) == python
    orphan = tmp_path / "orphan" / "parliament"
    orphan.parent.mkdir()
    orphan.write_text("#!/nowhere/python\n", encoding="utf-8")
    with pytest.raises(ParliamentNotFound, match="cannot tell which Python runs it"):
        interpreter_of(orphan)


def test_the_makefile_pin_is_readable() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned_parliament_version())
