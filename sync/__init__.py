"""Pure domain of Hemvård Offline: events, sync rules, projection and the post-registration rule engine.

Standard library only: no Flask, no SQLAlchemy. The server translates HTTP and rows to and from these.
"""
