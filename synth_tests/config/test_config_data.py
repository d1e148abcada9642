"""modules/config/data.py: the data sections, their profile defaults, and the store `uses` rules,
through the error contract (one line per problem naming the file and the key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import env_toml, write_config

from modules.config import ConfigError, load_platform
from modules.config.data import DatabaseConfig, bucket_name
from modules.config.uses import Use, parse_use

# Development serves plain HTTP; production needs a domain and the service a host under it.
EDGE = {
    "development": "[edge]\nhttp_only = true\n",
    "production": '[domain]\nname = "example.com"\nhosted_zone_id = "Z123"\n',
}
HOSTS = {"development": "", "production": 'hosts = ["api.example.com"]'}
SERVICE = """
{edge}
[[services]]
name = "api"
port = 8080
paths = ["/*"]
priority = 10
uses = {uses}
{hosts}
{extra}
"""


def load_env(tmp_path: Path, body: str, *, profile: str = "development", uses: str = "[]", extra: str = ""):
    write_config(
        tmp_path,
        {
            "dev": env_toml(profile=profile)
            + SERVICE.format(edge=EDGE[profile], hosts=HOSTS[profile], uses=uses, extra=extra)
            + body
        },
    )
    (env,) = load_platform(tmp_path).environments
    return env


def problems(
    tmp_path: Path, body: str, *, profile: str = "development", uses: str = "[]", extra: str = ""
) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_env(tmp_path, body, profile=profile, uses=uses, extra=extra)
    return [str(p).removeprefix(f"{tmp_path}/dev.toml: ") for p in caught.value.problems]


def test_no_data_section_no_store(tmp_path: Path) -> None:
    """A profile never creates a store: its database and cache defaults wait for the section."""
    env = load_env(tmp_path, "")
    assert env.config.database is None and env.config.cache is None
    assert env.config.buckets == [] and env.config.filesystems == []


def test_development_defaults(tmp_path: Path) -> None:
    env = load_env(tmp_path, '[database]\nengine = "postgres"\n[cache]\n[[filesystems]]\nname = "shared"\n')
    db, cache, (fs,) = env.config.database, env.config.cache, env.config.filesystems
    assert (db.instance_class, db.multi_az, db.deletion_protection, db.final_snapshot) == (
        "db.t4g.medium",
        False,
        False,
        False,
    )
    assert (db.version, db.port, db.parameter_group_family, db.instance_count) == (
        "16",
        5432,
        "postgres16",
        1,
    )
    assert (cache.engine, cache.version, cache.parameter_group_family) == ("valkey", "8.0", "valkey8")
    assert cache.node_count(az_count=2) == 1 and cache.auth == "iam"
    assert fs.backup is False


def test_production_defaults(tmp_path: Path) -> None:
    env = load_env(
        tmp_path,
        '[database]\nengine = "aurora-postgresql"\n[cache]\nengine = "redis"\n[[filesystems]]\nname = "shared"\n',
        profile="production",
    )
    db, cache, (fs,) = env.config.database, env.config.cache, env.config.filesystems
    assert (db.multi_az, db.deletion_protection, db.final_snapshot, db.backup_retention_days) == (
        True,
        True,
        True,
        14,
    )
    assert (db.instance_count, db.parameter_group_family, db.version) == (2, "aurora-postgresql16", "16.6")
    assert cache.node_count(az_count=3) == 3 and cache.parameter_group_family == "redis7"
    assert fs.backup is True


def test_file_values_win_over_the_profile(tmp_path: Path) -> None:
    env = load_env(
        tmp_path,
        '[database]\nengine = "mysql"\nbackup_retention_days = 7\n[[filesystems]]\nname = "shared"\nbackup = true\n',
    )
    assert env.config.database.backup_retention_days == 7
    assert env.config.database.parameter_group_family == "mysql8.0"
    assert env.config.filesystems[0].backup is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[database]\nengine = "oracle"\n',
            "database.engine: Input should be 'postgres', 'mysql', 'aurora-postgresql' or 'aurora-mysql'",
        ),
        (
            '[database]\nengine = "aurora-mysql"\ninstances = 0\n',
            "database.instances: Input should be greater than or equal to 1",
        ),
        ('[database]\nengine = "postgres"\ninstances = 2\n', "database: instances is for Aurora"),
        (
            '[database]\nengine = "aurora-postgresql"\ninstance_class = "db.t4g.micro"\n',
            "database: db.t4g.micro is not an Aurora instance class",
        ),
        (
            '[database]\nengine = "postgres"\ninstance_class = "db.t2.small"\n',
            "database: db.t2.small is not an RDS instance class",
        ),
        (
            '[database]\nengine = "aurora-postgresql"\nmulti_az = true\ninstances = 1\n',
            "database: multi_az Aurora needs instances of 2 or more",
        ),
        (
            '[database]\nengine = "aurora-mysql"\nengine_version = "8.0"\n',
            "database: aurora-mysql versions look like 8.0.mysql_aurora.3.08.0",
        ),
        (
            '[database]\nengine = "postgres"\nlog_exports = ["slowquery"]\n',
            "database: postgres exports postgresql, upgrade, iam-db-auth-error, not 'slowquery'",
        ),
        (
            '[database]\nengine = "postgres"\nbackup_window = "2am"\n',
            "database.backup_window: must be a UTC time range hh:mm-hh:mm",
        ),
        (
            '[database]\nengine = "postgres"\nmax_allocated_storage_gb = 20\n',
            "database.max_allocated_storage_gb: Input should be greater than or equal to 21",
        ),
        ("[cache]\nmulti_az = true\nreplicas = 0\n", "cache: multi_az failover needs a replica"),
        ('[cache]\nnode_type = "m5.large"\n', "cache: m5.large is not a current ElastiCache node type"),
        ('[cache]\nengine = "memcached"\n', "cache.engine: Input should be 'redis' or 'valkey'"),
        (
            '[[buckets]]\nname = "assets"\npurpose = "static"\ncors_origins = ["https://a.example.com"]\n',
            "buckets[0] (assets): cors_origins is for uploads buckets",
        ),
        (
            '[[buckets]]\nname = "assets"\npurpose = "uploads"\nobject_lock_days = 30\n',
            "buckets[0] (assets): object_lock_days is for backups buckets",
        ),
        (
            '[[buckets]]\nname = "assets"\npurpose = "uploads"\nencryption = "sse-s3"\n',
            "buckets[0] (assets): sse-s3 is for logs buckets",
        ),
        (
            '[[buckets]]\nname = "old"\npurpose = "backups"\nglacier_after_days = 40\n',
            "buckets[0] (old): glacier_after_days (40) must be at least 30 days after infrequent access (30)",
        ),
        ('[[buckets]]\nname = "a"\npurpose = "logs"\n', "buckets[0] (a).name: must be 2-20 characters"),
        # RDS and ElastiCache identifiers refuse "--", and these names end up in them
        (
            '[[buckets]]\nname = "my--logs"\npurpose = "logs"\n',
            "buckets[0] (my--logs).name: must be 2-20 characters",
        ),
        (
            '[[buckets]]\nname = "x1"\npurpose = "logs"\n[[buckets]]\nname = "x1"\npurpose = "static"\n',
            "buckets[1] (x1).name: 'x1' is already buckets[0]",
        ),
        (
            '[[filesystems]]\nname = "shared"\nuid = -1\n',
            "filesystems[0] (shared).uid: Input should be greater than or equal to 0",
        ),
    ],
)
def test_bad_store_sections_get_one_line_each(tmp_path: Path, body: str, expected: str) -> None:
    (line,) = problems(tmp_path, body)
    assert line.startswith(expected), line


def test_production_refuses_a_single_aurora_instance_and_an_open_cache(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        '[database]\nengine = "aurora-postgresql"\nmulti_az = false\ninstances = 1\n[cache]\nauth = "none"\n',
        profile="production",
    )
    assert lines == [
        "database.instances: the production profile needs 2 or more Aurora instances",
        "cache.auth: the production profile refuses a cache without authentication: use iam",
    ]


def test_a_bucket_name_that_does_not_fit_s3_is_refused(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {
            "platform-staging-eu": env_toml()
            + '[[buckets]]\nname = "customer-uploads-eu"\npurpose = "uploads"\n'
        },
        project='name = "acme-platform-main"\nregion = "eu-west-1"\naccount_id = "111111111111"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_platform(tmp_path)
    (problem,) = caught.value.problems
    full = bucket_name("acme-platform-main", "platform-staging-eu", "customer-uploads-eu", "111111111111")
    assert len(full) == 71
    assert str(problem).endswith(
        f"buckets[0] (customer-uploads-eu).name: the bucket name {full} is 71 characters; S3 allows 63: "
        "shorten the name by 8"
    )


@pytest.mark.parametrize(
    ("uses", "body", "expected"),
    [
        ('["database"]', "", "services[0] (api).uses[0]: this environment has no [database]"),
        ('["cache"]', "", "services[0] (api).uses[0]: this environment has no [cache]"),
        (
            '["bucket:uploads:read"]',
            "",
            "services[0] (api).uses[0]: no [[buckets]] entry named 'uploads' (entries: none)",
        ),
        (
            '["bucket:upload:read"]',
            '[[buckets]]\nname = "uploads"\npurpose = "uploads"\n',
            "services[0] (api).uses[0]: no [[buckets]] entry named 'upload' (entries: uploads)",
        ),
        (
            '["filesystem:shared:/mnt/shared"]',
            "",
            "services[0] (api).uses[0]: no [[filesystems]] entry named 'shared'",
        ),
        (
            '["bucket:uploads:admin"]',
            '[[buckets]]\nname = "uploads"\npurpose = "uploads"\n',
            "services[0] (api).uses[0]: 'bucket:uploads:admin': the option must be one of read, write, read-write",
        ),
        (
            '["database:superuser"]',
            '[database]\nengine = "postgres"\n',
            "services[0] (api).uses[0]: 'database:superuser': the option must be one of iam",
        ),
        (
            '["filesystem:shared:/data", "filesystem:scratch:/data:ro"]',
            '[[filesystems]]\nname = "shared"\n[[filesystems]]\nname = "scratch"\n',
            "services[0] (api).uses[1]: /data is already the mount path of filesystem:shared:/data",
        ),
        (
            '["database", "database:iam"]',
            '[database]\nengine = "postgres"\n',
            "services[0] (api).uses[1]: uses the same store as database: one use per store",
        ),
        (
            '["filesystem:shared:data"]',
            '[[filesystems]]\nname = "shared"\n',
            "services[0] (api).uses[0]: 'filesystem:shared:data': give the absolute container path",
        ),
    ],
)
def test_bad_store_uses_get_one_line_each(tmp_path: Path, uses: str, body: str, expected: str) -> None:
    (line,) = problems(tmp_path, body, uses=uses)
    assert line.startswith(expected), line


def test_a_use_of_an_invalid_section_waits_for_its_own_problem(tmp_path: Path) -> None:
    """The database is there but invalid: its problem is reported, not 'no [database]'."""
    lines = problems(tmp_path, '[database]\nengine = "oracle"\n', uses='["database"]')
    assert len(lines) == 1 and lines[0].startswith("database.engine:"), lines


def test_a_service_variable_that_a_use_sets_is_refused(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        '[database]\nengine = "postgres"\n[[buckets]]\nname = "uploads"\npurpose = "uploads"\n',
        uses='["database", "bucket:uploads:read"]',
        extra='environment = { DATABASE_HOST = "elsewhere", BUCKET_UPLOADS = "x" }',
    )
    assert lines == [
        "services[0] (api).uses[0]: sets DATABASE_HOST, which the service's environment or secrets also set",
        "services[0] (api).uses[1]: sets BUCKET_UPLOADS, which the service's environment or secrets also set",
    ]


def test_store_uses_parse_to_what_the_stores_read() -> None:
    assert parse_use("database") == Use("database", None, None)
    assert parse_use("database:iam") == Use("database", None, "iam")
    assert parse_use("cache") == Use("cache", None, None)
    assert parse_use("bucket:uploads:read-write") == Use("bucket", "uploads", "read-write")
    assert parse_use("filesystem:shared:/mnt/shared:ro") == Use("filesystem", "shared", "/mnt/shared", True)
    assert str(parse_use("filesystem:shared:/mnt/shared:ro")) == "filesystem:shared:/mnt/shared:ro"


def test_parameter_group_families() -> None:
    def family(engine: str, version: str | None = None) -> str:
        return DatabaseConfig(
            engine=engine,
            engine_version=version,
            instance_class="db.r6g.large",
            multi_az=False,
            backup_retention_days=1,
            deletion_protection=False,
            final_snapshot=False,
            log_retention_days=30,
        ).parameter_group_family

    assert family("postgres") == "postgres16"
    assert family("postgres", "17.2") == "postgres17"
    assert family("mysql", "8.4.3") == "mysql8.4"
    assert family("aurora-mysql") == "aurora-mysql8.0"
    assert family("aurora-postgresql", "15.8") == "aurora-postgresql15"
