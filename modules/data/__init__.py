"""Where data lives: database, cache, EFS, application buckets on one hardened S3 baseline; their grants."""

from modules.data.bucket import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    PrivateBucket,
    PrivateBucketProps,
    server_access_log_bucket,
    server_access_log_delivery,
)
from modules.data.buckets import ApplicationBuckets, ApplicationBucketsProps
from modules.data.cache import Cache, CacheProps
from modules.data.database import Database, DatabaseProps
from modules.data.filesystem import FileSystem, FileSystemProps
from modules.data.grant import FileSystemMount, StoreGrant, combined

__all__ = [
    "ABORT_INCOMPLETE_UPLOAD_DAYS",
    "ApplicationBuckets",
    "ApplicationBucketsProps",
    "Cache",
    "CacheProps",
    "Database",
    "DatabaseProps",
    "FileSystem",
    "FileSystemMount",
    "FileSystemProps",
    "PrivateBucket",
    "PrivateBucketProps",
    "StoreGrant",
    "combined",
    "server_access_log_bucket",
    "server_access_log_delivery",
]
