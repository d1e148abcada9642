"""Load balancers in front of the services: the public ALB with HTTPS, internal ALB and NLB, access logs."""

from modules.edge.internal import InternalLoadBalancers, InternalLoadBalancersProps
from modules.edge.public import PublicLoadBalancer, PublicLoadBalancerProps
from modules.edge.security_groups import ServiceSecurityGroups, ServiceSecurityGroupsProps

__all__ = [
    "InternalLoadBalancers",
    "InternalLoadBalancersProps",
    "PublicLoadBalancer",
    "PublicLoadBalancerProps",
    "ServiceSecurityGroups",
    "ServiceSecurityGroupsProps",
]
