"""The stacks: bootstrap (remote state) and one per environment; the only place concerns are wired."""
