"""Test helpers that stand in for the outside world (a push service) on 127.0.0.1."""
