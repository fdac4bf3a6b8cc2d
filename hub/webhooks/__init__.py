"""Webhooks: endpoints with encrypted secrets, Standard Webhooks signatures, the
delivery worker with its retries, and the attempts log."""
