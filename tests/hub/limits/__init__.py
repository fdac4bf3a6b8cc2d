"""Tests of hub/limits/."""
