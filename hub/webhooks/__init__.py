"""Webhooks: endpoints with encrypted secrets, Standard Webhooks signatures, and
(next) the durable outbox and its delivery worker."""
