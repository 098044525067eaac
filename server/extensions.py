"""Flask extensions, created unbound and bound to the app in the factory; `transactional`, how a route commits."""
from functools import wraps

from flask_compress import Compress
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
compress = Compress()


def transactional(view):
    """A route's one commit: everything the view did is committed after it returns, and nothing if it raises
    (Flask-SQLAlchemy rolls the session back when the request ends). Views never call commit() themselves."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        answer = view(*args, **kwargs)
        db.session.commit()
        return answer

    return wrapped
