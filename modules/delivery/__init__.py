"""Delivery: how the services' images are built and rolled out, and how Terraform runs from CI.

- github.py: the account's IAM OIDC provider for GitHub Actions and, per environment, the deploy,
  plan and apply roles its jobs assume (each trusting exactly one GitHub environment).
- workflows/: the GitHub Actions workflows rendered from the config (generated/github/workflows/).
- codepipeline/: per service a CodePipeline (V2) + CodeBuild from a CodeConnections source.
- targets.py: what each of those is built from, derived from the config by fixed naming rules.
"""
