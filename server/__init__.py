"""fieldsync's HTTP surface: the app factory.

``create_app()`` is what gunicorn serves (see Procfile); it reads settings from
the environment unless given some, so tests build apps with their own data
directories side by side.
"""

from __future__ import annotations

from flask import Flask

from . import compression, errors
from .auth import Authenticator
from .config import Settings
from .services import Services, make_store


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["SECRET_KEY"] = settings.resolved_secret()
    app.json.sort_keys = False
    store = make_store(settings)
    app.extensions["fieldsync"] = Services(settings, store, Authenticator(settings.admin))

    from .routes import replication, root

    app.register_blueprint(root.bp)
    app.register_blueprint(replication.bp)
    errors.register(app)
    compression.register(app)
    return app
