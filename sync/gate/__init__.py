"""The write gate: what every document a client writes passes (``write_gate``), and the
quarantine that keeps what it refuses (``quarantine``) until a coordinator releases or discards it
(``quarantine_actions``). Nothing a worker sends is lost between the three."""
