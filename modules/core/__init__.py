"""Helpers without cloud resources: naming, IAM documents, subnet arithmetic, synth stamp, terraform CLI.

Standard library only: every other package may import these.
"""
