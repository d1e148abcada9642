"""Lint many policy documents with parliament in one process; run by parliament's own interpreter.

    <parliament's python> parliament_driver.py REQUESTS.json RESULTS.json

REQUESTS.json is `[{"id": ..., "policy": "<policy JSON text>"}, ...]`. RESULTS.json gets
`{"version": ..., "issues": [every issue key parliament knows], "results": [{"id": ...,
"findings": [...]} or {"id": ..., "error": "..."}]}`.

This file imports only parliament and the standard library: it runs in the checkov virtualenv,
never in ours (iam_lint_harness.py starts it). It does what `parliament --include-community-auditors
--minimum_severity INFO --json` does for one policy, with two differences: one process for every
document (the CLI takes about a second to start), and the findings are returned per request, since
parliament 1.6.4 shares one mutable `location` dict between findings that have none and so
mislabels their `filepath` when it reads several files in one run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import parliament
from parliament import analyze_policy_string, config, enhance_finding, override_config


def _lint(policy: str) -> list[dict[str, object]]:
    analyzed = analyze_policy_string(
        policy,
        ignore_private_auditors=True,  # only what ships with the pinned version
        include_community_auditors=True,
        config=config,
    )
    findings = []
    for finding in analyzed.findings:
        finding = enhance_finding(finding)
        if finding.severity == "MUTE":
            continue
        location = finding.location if isinstance(finding.location, dict) else {}
        findings.append(
            {
                "issue": finding.issue,
                "severity": finding.severity,
                "title": finding.title,
                "detail": finding.detail,
                "location": {k: v for k, v in location.items() if k != "filepath"},
            }
        )
    return findings


def main(requests_path: str, results_path: str) -> int:
    override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
    requests = json.loads(Path(requests_path).read_text(encoding="utf-8"))
    results = []
    for request in requests:
        try:
            results.append({"id": request["id"], "findings": _lint(request["policy"])})
        except Exception as exc:  # parliament raises on some malformed ARNs: report, go on
            results.append({"id": request["id"], "error": f"{type(exc).__name__}: {exc}"})
    output = {"version": parliament.__version__, "issues": sorted(config), "results": results}
    Path(results_path).write_text(json.dumps(output, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
