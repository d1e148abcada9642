"""What watches an environment: alarms, the dashboard, CIS audit alarms, X-Ray tracing and APM sidecars.

The default alarm set and its composite, the dashboard and the audit alarms on the account's trail
are all built from one set of metric definitions (metrics.py); tracing.py and apm.py say what a
service's task gains from `[tracing]` (X-Ray) and `[apm]` (Datadog, New Relic, Sentry).
"""

from modules.observability.alarms import Alarms, AlarmsProps
from modules.observability.audit import CIS_CHECKS, AuditAlarms, AuditAlarmsProps, AuditCheck
from modules.observability.dashboard import Dashboard, DashboardProps
from modules.observability.metrics import Metric, MetricMath, Watch, watches
from modules.observability.resources import (
    CacheWatch,
    DatabaseWatch,
    LoadBalancerWatch,
    NotifierWatch,
    ServiceWatch,
    WatchedResources,
)
from modules.observability.tracing import Tracing, TracingProps, XrayEncryption, XrayEncryptionProps

__all__ = [
    "CIS_CHECKS",
    "Alarms",
    "AlarmsProps",
    "AuditAlarms",
    "AuditAlarmsProps",
    "AuditCheck",
    "CacheWatch",
    "Dashboard",
    "DashboardProps",
    "DatabaseWatch",
    "LoadBalancerWatch",
    "Metric",
    "MetricMath",
    "NotifierWatch",
    "ServiceWatch",
    "Tracing",
    "TracingProps",
    "Watch",
    "WatchedResources",
    "XrayEncryption",
    "XrayEncryptionProps",
    "watches",
]
