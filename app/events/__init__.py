"""Events: the durable outbox, webhooks with signed and retried deliveries, GraphQL subscriptions."""
