"""fieldsync's HTTP surface: the app factory.

``create_app()`` is what gunicorn serves (see Procfile); it reads settings from
the environment unless given some, so tests build apps with their own data
directories side by side.
"""

from __future__ import annotations

from flask import Flask, g

from . import body_errors, compression, errors, oversize, request_gzip
from .auth import set_session_cookie
from .config import Settings
from .services import Services


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    services = Services.build(settings)
    services.store.ensure("global")  # every replica reads it, from the first request on
    services.bootstrap_admin()
    services.forms.warm()  # validators compiled before the first push, not during it
    app.extensions["fieldsync"] = services

    from .routes import api, conflicts_api, replication, reviews_api, root, session, user_replica

    app.register_blueprint(root.bp)
    app.register_blueprint(session.bp)
    app.register_blueprint(replication.bp)
    app.register_blueprint(user_replica.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(conflicts_api.bp)
    app.register_blueprint(reviews_api.bp)
    from .routes import exports_api

    app.register_blueprint(exports_api.bp)
    from .routes import api_description

    app.register_blueprint(api_description.bp)  # /api/openapi.json and /api/docs
    from . import fieldapp

    app.register_blueprint(fieldapp.bp)  # /app: the workers' offline field app
    errors.register(app)
    from . import web

    web.register(app, services.settings.secret_key)

    @app.after_request
    def refresh_session(resp):
        refreshed = g.get("refresh_cookie")
        if refreshed:
            set_session_cookie(resp, *refreshed)
        return resp

    compression.register(app)
    app.wsgi_app = body_errors.guard(app.wsgi_app)  # broken chunking or a cut body: 400, not 500
    oversize.register(app, settings)  # a batch over the body limit is answered per document
    request_gzip.register(app, settings)  # gzipped request bodies, limits on what they inflate to
    if settings.trusted_proxies:
        # Login throttling counts per client address: behind a proxy, take it from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=1, x_host=1)
    return app
