"""Tests of hub/text/."""
