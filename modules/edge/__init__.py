"""Load balancers in front of the services: the public ALB with HTTPS, internal ALB and NLB, access logs."""

from modules.edge.access_logs import LoadBalancerLogs, LoadBalancerLogsProps
from modules.edge.internal import InternalLoadBalancers, InternalLoadBalancersProps
from modules.edge.public import PublicLoadBalancer, PublicLoadBalancerProps

__all__ = [
    "InternalLoadBalancers",
    "InternalLoadBalancersProps",
    "PublicLoadBalancer",
    "PublicLoadBalancerProps",
    "LoadBalancerLogs",
    "LoadBalancerLogsProps",
]
