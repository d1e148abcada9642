"""Discord notifier (Lambda, Python 3.12, handler `notifier.handler`): one webhook message per SNS record.

The function subscribes to the environment's `alerts` and `deployments` topics. It needs only the
standard library and the boto3 that the Lambda runtime provides. Environment: WEBHOOK_SECRET_ARN (a
Secrets Manager secret holding the webhook URL, bare or as JSON {"url": ...}; read once per container,
never logged), ENVIRONMENT and PROJECT.

Message kinds, recognised from the SNS Message body:
1. alarm: a CloudWatch alarm state change (JSON with AlarmName and NewStateValue). Title
   "<state>: <alarm name>", colour red (ALARM), green (OK) or grey (INSUFFICIENT_DATA), description
   the NewStateReason, resource the trigger's dimensions "name=value, ..." (the alarm name for a
   composite alarm), link the alarm in the CloudWatch console (region from AlarmArn).
2. notice: what our EventBridge input transformers produce, JSON {"notice": 1, "kind", "severity",
   "title", "resource", "reason", "region", "account", "time"}; severity "critical" | "warning" |
   "info" or a GuardDuty number (>= 7 critical, >= 4 warning, else info; anything else warning).
   Colour red, orange or blue; link the console page of the resource, by kind.
3. plain: anything else (text, other JSON, a notice the transformer broke). Title the SNS Subject or
   "Message on <topic>", description the message, colour blue, no link.

Payload (keys absent, never empty, when there is nothing to say):
    {"username": "<PROJECT> <ENVIRONMENT>", "allowed_mentions": {"parse": []},
     "embeds": [{"title", "description", "color", "url", "timestamp", "footer": {"text": <topic>},
                 "fields": [Environment, Resource, then per kind (all inline but Alarm description):
                            alarm: Region, Metric ("<namespace> <metric>, ..."), Alarm description;
                            notice: Severity ("critical" or "critical (8.5)"), Region, Account;
                            plain: nothing more]}]}
`timestamp` is ISO 8601 UTC with milliseconds, from StateChangeTime / `time` / the SNS Timestamp.
Texts are cut with "…" to Discord's embed limits. Delivery retries 429 (after `retry_after`) and 5xx
or connection errors (exponential backoff), at most MAX_ATTEMPTS times and MAX_TOTAL_WAIT seconds,
then raises, so the asynchronous invocation goes to its on-failure destination.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

logger = logging.getLogger("notifier")
logger.setLevel(logging.INFO)

MAX_ATTEMPTS = 5
MAX_TOTAL_WAIT = 20.0  # seconds; the function's timeout is 30
BACKOFF_BASE = 0.5  # 0.5 s, 1 s, 2 s, ...
REQUEST_TIMEOUT = 5.0
sleep: Callable[[float], None] = time.sleep  # tests shorten the waits through this
# Discord's Cloudflare front refuses urllib's default User-Agent (error 1010).
USER_AGENT = "discord-notifier/1.0 (+aws-lambda)"

RED, ORANGE, GREEN, BLUE, GREY = 0xE74C3C, 0xE67E22, 0x2ECC71, 0x3498DB, 0x95A5A6
STATE_COLOURS = {"ALARM": RED, "OK": GREEN, "INSUFFICIENT_DATA": GREY}
SEVERITY_COLOURS = {"critical": RED, "warning": ORANGE, "info": BLUE}
TITLE, DESCRIPTION, FIELD_NAME, FIELD_VALUE, FOOTER, FIELDS, EMBED = 256, 4096, 256, 1024, 2048, 25, 6000
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")

_webhook_url: str | None = None  # one secret read per container


class DeliveryError(RuntimeError):
    """Discord did not take the message (the text never holds the webhook URL)."""


def handler(event: dict[str, Any], context: object = None) -> dict[str, int]:
    records = event.get("Records") or []
    for record in records:
        payload = build_payload(record.get("Sns") or {})
        deliver(webhook_url(), payload)
        logger.info("delivered %r", payload["embeds"][0]["title"])
    return {"delivered": len(records)}


def webhook_url() -> str:
    global _webhook_url
    if _webhook_url is None:
        import boto3  # provided by the Lambda runtime; imported here so the module loads without it

        secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ARN"])
        _webhook_url = parse_secret(secret["SecretString"])
    return _webhook_url


def parse_secret(value: str) -> str:
    value = value.strip()
    if value.startswith("{"):
        value = str(json.loads(value).get("url") or "").strip()
    if not value.startswith(("https://", "http://")):
        raise ValueError("the webhook secret holds neither a URL nor JSON with a 'url'")
    return value


def text(value: object) -> str:
    """A transformer's value as text: None and missing become ""."""
    return "" if value is None else str(value).strip()


def build_payload(sns: dict[str, Any]) -> dict[str, Any]:
    message, topic = text(sns.get("Message")), text(sns.get("TopicArn")).rpartition(":")[2]
    try:
        body = json.loads(message)
    except ValueError:
        body = None
    if isinstance(body, dict) and "AlarmName" in body and "NewStateValue" in body:
        embed = alarm_embed(body)
    elif isinstance(body, dict) and body.get("notice") == 1:
        embed = notice_embed(body)
    else:
        embed = {"title": text(sns.get("Subject")) or f"Message on {topic or 'SNS'}", "description": message}
        embed.update(color=BLUE, fields=[])
    environment = text(os.environ.get("ENVIRONMENT"))
    embed["fields"].insert(0, {"name": "Environment", "value": environment, "inline": True})
    embed["timestamp"] = iso_time(embed.pop("time", None)) or iso_time(sns.get("Timestamp"))
    embed["footer"] = {"text": topic}
    username = f"{text(os.environ.get('PROJECT'))} {environment}".strip() or "notifier"
    return {"username": username[:80], "allowed_mentions": {"parse": []}, "embeds": [fit(embed)]}


def alarm_embed(alarm: dict[str, Any]) -> dict[str, Any]:
    name, state = text(alarm.get("AlarmName")), text(alarm.get("NewStateValue"))
    region = arn_part(text(alarm.get("AlarmArn")), 3)
    trigger = alarm.get("Trigger") if isinstance(alarm.get("Trigger"), dict) else {}
    metrics = [trigger, *[m.get("MetricStat", {}).get("Metric", {}) for m in trigger.get("Metrics") or []]]
    dimensions = dict.fromkeys(
        f"{text(d.get('name'))}={text(d.get('value'))}" for m in metrics for d in m.get("Dimensions") or []
    )
    metric_names = dict.fromkeys(
        f"{text(m.get('Namespace'))} {m['MetricName']}" for m in metrics if m.get("MetricName")
    )
    fields = [("Resource", ", ".join(dimensions) or name), ("Region", region or text(alarm.get("Region")))]
    fields += [("Metric", ", ".join(metric_names))]
    return {
        "title": f"{state}: {name}",
        "description": text(alarm.get("NewStateReason")),
        "color": STATE_COLOURS.get(state, GREY),
        "url": console(region, f"cloudwatch/home?region={region}#alarmsV2:alarm/{quote(name, safe='')}"),
        "fields": inline(fields)
        + inline([("Alarm description", text(alarm.get("AlarmDescription")))], False),
        "time": alarm.get("StateChangeTime"),
    }


def notice_embed(notice: dict[str, Any]) -> dict[str, Any]:
    kind, resource, account = (
        text(notice.get("kind")),
        text(notice.get("resource")),
        text(notice.get("account")),
    )
    region = text(notice.get("region")) or arn_part(resource, 3)
    severity, label = severity_of(notice.get("severity"))
    fields = [("Severity", label), ("Region", region), ("Account", account)]
    return {
        "title": text(notice.get("title")) or kind or "Notice",
        "description": text(notice.get("reason")),
        "color": SEVERITY_COLOURS[severity],
        "url": console(region, notice_path(kind, resource, region, account)),
        "fields": [{"name": "Resource", "value": resource or "-", "inline": True}, *inline(fields)],
        "time": notice.get("time"),
    }


def severity_of(value: object) -> tuple[str, str]:
    """The severity and how the Severity field shows it; GuardDuty's is a number 0-10."""
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        named = text(value).lower()
        return (named if named in SEVERITY_COLOURS else "warning"), named
    severity = "critical" if score >= 7 else "warning" if score >= 4 else "info"
    return severity, f"{severity} ({score:g})"


def notice_path(kind: str, resource: str, region: str, account: str) -> str:
    """The console path (after https://<region>.console.aws.amazon.com/) of the notice's resource."""
    name = resource.split(":", 5)[5] if resource.startswith("arn:") and resource.count(":") >= 5 else resource
    parts = [quote(p, safe="") for p in name.split("/")]
    if kind in ("ecs-deployment", "ecs-task-stopped") and len(parts) >= 2:
        pages = {"service": "services/{}/health", "task": "tasks/{}/configuration", "cluster": "services"}
        page = pages.get(parts[0])
        if page and (len(parts) == 3 or parts[0] == "cluster"):
            return f"ecs/v2/clusters/{parts[1]}/{page.format(parts[-1])}?region={region}"
    db_type, _, db_id = name.rpartition(":")  # "db:<id>", "cluster:<id>", or a bare id
    if kind == "rds-event" and db_id and db_type in ("db", "cluster", ""):
        cluster = ";is-cluster=true" if db_type == "cluster" else ""
        return f"rds/home?region={region}#database:id={quote(db_id, safe='')}{cluster}"
    if kind == "guardduty-finding" and name:
        return f"guardduty/home?region={region}#/findings?macros=current&fId={parts[-1]}"
    if kind == "ecr-scan" and name and (account := account or arn_part(resource, 4)):
        repository = "/".join(parts[1:] if parts[0] == "repository" and len(parts) > 1 else parts)
        return f"ecr/repositories/private/{quote(account, safe='')}/{repository}?region={region}"
    if kind == "pipeline" and name:
        return f"codesuite/codepipeline/pipelines/{parts[0]}/view?region={region}"
    return ""


def console(region: str, path: str) -> str:
    """A console link; none when the region is not a region code or there is no page to show."""
    return f"https://{region}.console.aws.amazon.com/{path}" if path and REGION.fullmatch(region) else ""


def arn_part(arn: str, index: int) -> str:
    parts = arn.split(":")
    return parts[index] if arn.startswith("arn:") and len(parts) > index else ""


def inline(pairs: list[tuple[str, str]], is_inline: bool = True) -> list[dict[str, Any]]:
    return [{"name": name, "value": value, "inline": is_inline} for name, value in pairs if value]


def iso_time(value: object) -> str:
    try:
        moment = datetime.fromisoformat(text(value))
    except ValueError:
        return ""
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC).isoformat(timespec="milliseconds")


def cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + "…"


def fit(embed: dict[str, Any]) -> dict[str, Any]:
    """The embed within Discord's limits, empty keys dropped; the description gives way first."""
    embed["title"] = cut(embed["title"], TITLE)
    embed["description"] = cut(embed["description"], DESCRIPTION)
    embed["footer"]["text"] = cut(embed["footer"]["text"], FOOTER)
    embed["fields"] = [
        {**f, "name": cut(f["name"], FIELD_NAME), "value": cut(f["value"] or "-", FIELD_VALUE)}
        for f in embed["fields"][:FIELDS]
    ]
    texts = [embed["title"], embed["footer"]["text"], *(f["name"] + f["value"] for f in embed["fields"])]
    embed["description"] = cut(embed["description"], max(EMBED - sum(map(len, texts)), 0))
    if not embed["footer"]["text"]:
        del embed["footer"]
    return {key: value for key, value in embed.items() if value != ""}


def deliver(url: str, payload: dict[str, Any]) -> None:
    """POST the payload; retry 429, 5xx and connection errors within the bounds; raise when it fails."""
    data = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    waited = 0.0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=REQUEST_TIMEOUT):
                return
        except urllib.error.HTTPError as error:
            body = error.read()
            problem = f"HTTP {error.code} {body[:300].decode(errors='replace')}"
            if error.code == 429:
                delay = retry_after(body, error.headers.get("Retry-After"))
            elif error.code >= 500:
                delay = BACKOFF_BASE * 2 ** (attempt - 1)
            else:
                raise DeliveryError(f"Discord refused the message: {problem}") from None
        except (urllib.error.URLError, OSError) as error:
            problem = f"connection error: {getattr(error, 'reason', error)}"
            delay = BACKOFF_BASE * 2 ** (attempt - 1)
        if attempt == MAX_ATTEMPTS or waited + delay > MAX_TOTAL_WAIT:
            raise DeliveryError(f"gave up after {attempt} attempts and {waited:g} s: {problem}")
        logger.warning("attempt %d: %s; retrying in %g s", attempt, problem, delay)
        sleep(delay)
        waited += delay
    raise DeliveryError("no delivery attempt was allowed (MAX_ATTEMPTS < 1)")


def retry_after(body: bytes, header: str | None) -> float:
    """Discord's wait in seconds: `retry_after` of the JSON body, else the Retry-After header."""
    try:
        return max(float(json.loads(body)["retry_after"]), 0.0)
    except (ValueError, KeyError, TypeError):
        pass
    try:
        return max(float(header or ""), 0.0)
    except ValueError:
        return BACKOFF_BASE
