"""Dashboards for managers and administrators: backlog, readiness, access-log review and exports."""
