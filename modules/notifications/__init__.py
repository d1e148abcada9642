"""Who hears about it: the alerts and deployments SNS topics, the EventBridge rules, the Discord notifier."""
