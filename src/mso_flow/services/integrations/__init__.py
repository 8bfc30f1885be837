"""Other systems: external tasks and their wake-ups, webhooks (subscriptions, outbound policy, delivery),
messages, timers and timer start events."""
