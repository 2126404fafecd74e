"""The per-user replica: ``/sync/<user>`` as one database that is the union of the scopes a user
may read (``union``), and the log of the sync sessions devices run against it (``synclog``)."""
