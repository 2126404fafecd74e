"""Stores: the one Store interface (``base``) and its backends, one module each, as Kinto keeps
``kinto/core/storage/``. Every backend passes the same conformance suite
(``tests/store_conformance.py``), so the rest of ``sync`` never asks which one it runs on."""
