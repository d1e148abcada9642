"""Helpers with no cloud resources of their own: naming, IAM documents, subnet arithmetic, the synth
stamp and the terraform CLI. Standard library only: every other package may import these."""
