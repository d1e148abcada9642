"""The Discord notifier's infrastructure: the Lambda function (code in runtime/, zip from package.py),
its role, log group and dead-letter queue, and its subscriptions to the environment's topics.

Why a Lambda and not an SNS HTTPS subscription to the webhook: SNS posts its own envelope (and a
subscription confirmation first), which Discord's webhook API refuses; the function turns each
message into an embed Discord accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.config import Environment
from modules.config.observability import declared_secret_name
from modules.core import iam
from modules.notifications.discord.package import HANDLER, RUNTIME, NotifierPackage
from modules.security.kms import lambda_log_group_name, notifier_function_name

# Fixed sizes, not settings: the function formats one message and makes one HTTPS call (or a few,
# when Discord rate-limits it) per record.
MEMORY_MB = 128
TIMEOUT_SECONDS = 30
ARCHITECTURE = "arm64"
# A storm of alarms cannot take more than this from the account's concurrency; the rest wait in
# Lambda's asynchronous queue and are retried.
RESERVED_CONCURRENCY = 2
MAX_RETRY_ATTEMPTS = 2  # Lambda's own retries of a failed asynchronous invocation
MAX_EVENT_AGE_SECONDS = 3600  # an alert older than an hour goes to the queue, not to Discord
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's longest
LAMBDA_SERVICE = "lambda.amazonaws.com"
SNS_SERVICE = "sns.amazonaws.com"


@dataclass(frozen=True)
class DiscordNotifierProps:
    """What the notifier needs; every value comes from config or another construct's attributes."""

    name: str  # "<project>-<env>": function "<name>-discord-notifier", queue "<...>-dlq"
    project: str  # PROJECT and ENVIRONMENT of the function: the messages' author
    environment: str
    region: str
    account_id: str
    package: NotifierPackage  # the zip the lead writes next to the stack's cdk.tf.json
    webhook_secret_arn: str  # the `[[secrets]]` entry `discord_webhook_secret` names
    kms_key_arn: str  # the environment key: environment variables, log group, the secret
    log_retention_days: int
    topic_arns: tuple[tuple[str, str], ...]  # (purpose, topic ARN): each subscribes the function

    @classmethod
    def of(
        cls,
        env: Environment,
        *,
        package: NotifierPackage,
        secret_arns: Mapping[str, str],
        kms_key_arn: str,
        alerts_topic_arn: str,
        deployments_topic_arn: str,
    ) -> DiscordNotifierProps:
        notifications = env.config.notifications
        if notifications.discord_webhook_secret is None:
            raise ValueError(f"{env.name} has no notifications.discord_webhook_secret")
        return cls(
            name=env.prefix,
            project=env.project.name,
            environment=env.name,
            region=env.region,
            account_id=env.account_id,
            package=package,
            webhook_secret_arn=secret_arns[declared_secret_name(notifications.discord_webhook_secret)],
            kms_key_arn=kms_key_arn,
            log_retention_days=notifications.log_retention_days,
            topic_arns=(("alerts", alerts_topic_arn), ("deployments", deployments_topic_arn)),
        )

    @property
    def function_name(self) -> str:
        return notifier_function_name(self.name)

    @property
    def log_group_name(self) -> str:
        """Where Lambda writes the function's logs (its default group, created here first)."""
        return lambda_log_group_name(self.function_name)


def notifier_statements(
    *, secret_arn: str, kms_key_arn: str, log_group_arn: str, queue_arn: str, region: str
) -> list[dict[str, Any]]:
    """Everything the function's role may do: read its one secret, write its own logs, send a
    failed invocation to its queue."""
    return [
        {
            "Sid": "ReadWebhookSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            # The secret is encrypted with the environment key: decrypt through Secrets Manager only.
            "Sid": "DecryptWebhookSecret",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
        iam.write_log_group("WriteOwnLogs", log_group_arn),
        {
            # Lambda sends the on-failure record with the function's role.
            "Sid": "SendFailuresToQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
    ]


class DiscordNotifier(Construct):
    """A Python Lambda (arm64, 128 MB, 30 s, reserved concurrency 2) outside the VPC, its code the
    package's zip referenced by relative file name and SHA-256, its environment variables encrypted
    with the environment key; its log group (retention, environment key); its role (the statements
    above, trusted by Lambda for this account only); an SQS dead-letter queue (SQS-managed
    encryption, 14 days) as the on-failure destination of its asynchronous invocations (2 retries,
    events up to an hour old); and per topic a subscription and the permission for that topic to
    invoke it.

    Exposes `function_name`, `function_arn` and `dead_letter_queue_name`.
    """

    def __init__(self, scope: Construct, id: str, props: DiscordNotifierProps) -> None:
        super().__init__(scope, id)
        log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=props.log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        # SQS-managed encryption rather than the environment key: Lambda writes the queue with the
        # function's role, which would then need the key too; the records hold the alert texts only.
        queue = aws.sqs_queue.SqsQueue(
            self,
            "dead-letter-queue",
            name=f"{props.function_name}-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
        )
        role = aws.iam_role.IamRole(
            self,
            "role",
            name=props.function_name,
            description=f"The Discord notifier of {props.name}: its secret, its logs, its queue",
            assume_role_policy=iam.service_trust(
                LAMBDA_SERVICE, source_account=props.account_id, sid="LambdaAssumesRole"
            ),
        )
        role_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "role-policy",
            name="secret-logs-queue",
            role=role.id,
            policy=iam.document(
                *notifier_statements(
                    secret_arn=props.webhook_secret_arn,
                    kms_key_arn=props.kms_key_arn,
                    log_group_arn=log_group.arn,
                    queue_arn=queue.arn,
                    region=props.region,
                )
            ),
        )
        lambda_function = aws.lambda_function
        function = lambda_function.LambdaFunction(
            self,
            "function",
            function_name=props.function_name,
            description=f"Posts the {props.name} alerts and deployments topics to Discord",
            role=role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            architectures=[ARCHITECTURE],
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            reserved_concurrent_executions=RESERVED_CONCURRENCY,
            # Relative to the stack's directory, where the zip is written beside cdk.tf.json; the
            # hash tells Terraform when to upload the code again.
            filename=props.package.filename,
            source_code_hash=props.package.source_code_hash,
            kms_key_arn=props.kms_key_arn,
            environment=lambda_function.LambdaFunctionEnvironment(
                variables={
                    "WEBHOOK_SECRET_ARN": props.webhook_secret_arn,
                    "ENVIRONMENT": props.environment,
                    "PROJECT": props.project,
                }
            ),
            # The function calls no AWS API worth tracing; PassThrough keeps a caller's trace
            # header without sampling of its own (and needs no X-Ray permission).
            tracing_config=lambda_function.LambdaFunctionTracingConfig(mode="PassThrough"),
            # Its log group exists (retention, key) before Lambda would create one, and the role
            # may write to it before the first invocation.
            depends_on=[log_group, role_policy],
        )
        invoke = aws.lambda_function_event_invoke_config
        aws.lambda_function_event_invoke_config.LambdaFunctionEventInvokeConfig(
            self,
            "async-invocation",
            function_name=function.function_name,
            maximum_retry_attempts=MAX_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            destination_config=invoke.LambdaFunctionEventInvokeConfigDestinationConfig(
                on_failure=invoke.LambdaFunctionEventInvokeConfigDestinationConfigOnFailure(
                    destination=queue.arn
                )
            ),
        )
        for purpose, topic_arn in props.topic_arns:
            permission = aws.lambda_permission.LambdaPermission(
                self,
                f"{purpose}-invoke-permission",
                statement_id=f"{purpose}-topic",
                action="lambda:InvokeFunction",
                function_name=function.function_name,
                principal=SNS_SERVICE,
                source_arn=topic_arn,
            )
            aws.sns_topic_subscription.SnsTopicSubscription(
                self,
                f"{purpose}-subscription",
                topic_arn=topic_arn,
                protocol="lambda",
                endpoint=function.arn,
                # SNS's first delivery must find the permission in place.
                depends_on=[permission],
            )
        self.function_name: str = function.function_name
        self.function_arn: str = function.arn
        self.dead_letter_queue_name: str = queue.name
