"""Accounts: who a request is (``users``: argon2id hashes, remembered logins), who may do what
(``access``: roles and areas, scope by scope and document by document), and the brake on guessing
passwords (``throttle``)."""
