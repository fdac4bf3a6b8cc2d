"""Tests of hub/events/."""
