"""Faults under load: simulated devices push through a fault-injecting proxy to gunicorn."""
