"""Tests of hub/webhooks/."""
