"""Tests of hub/store/."""
