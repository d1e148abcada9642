"""Notifications: SNS topics, EventBridge rules, the Discord notifier."""
