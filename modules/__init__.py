"""The platform generator, one package per concern.

Layers, lowest first; a module imports only from its own package or from a lower layer:
    core      naming, IAM documents, cidr, stamp, terraform CLI (standard library only)
    config    the typed schema and profiles (pydantic; never cdktf)
    cdk       the one import point of cdktf, constructs and the AWS provider bindings
    security, network
    data
    compute
    edge
    stacks    the only place that wires concerns together
"""
