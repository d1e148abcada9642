"""The platform generator, one package per concern.

Layers, lowest first; a module imports only from its own package or from a lower layer:
    core      naming, IAM documents, cidr, stamp, terraform CLI (standard library only)
    review    plan review: `terraform show -json` in, flagged changes out (jinja2; imports no other package)
    config    the typed schema and profiles (pydantic; never cdktf)
    pages     the environment pages, rendered from the config (jinja2; never cdktf)
    kernel    the jsii kernel's Node.js process: its hooks, and its start ahead of jsii (standard library only)
    bindings  how the jsii bindings load and are called, faster (jsii and the standard library only)
    cdk       the one import point of cdktf, constructs and the AWS provider bindings
    security, network
    observability, notifications   alarms, dashboard, tracing, APM; SNS topics, EventBridge, Discord
    data
    compute
    edge
    delivery  GitHub Actions OIDC roles and rendered workflows; CodePipeline + CodeBuild per service
    stacks    the only place that wires concerns together
"""
