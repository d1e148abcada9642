"""Where the platform keeps data; today the one hardened S3 bucket baseline every bucket uses."""

from modules.data.bucket import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    PrivateBucket,
    PrivateBucketProps,
    server_access_log_bucket,
    server_access_log_delivery,
)

__all__ = [
    "ABORT_INCOMPLETE_UPLOAD_DAYS",
    "PrivateBucket",
    "PrivateBucketProps",
    "server_access_log_bucket",
    "server_access_log_delivery",
]
