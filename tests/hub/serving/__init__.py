"""Tests of hub/serving/."""
