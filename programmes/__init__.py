"""What the programmes that fieldsync serves compute from their submissions.

Pure Python, no Flask and no store: WHO growth z-scores and nutrition classes
(``programmes.growth``, ``programmes.nutrition``), the values derived from a
``growth_visit`` submission (``programmes.growth_visit``), LQAS decision rules
and coverage (``programmes.lqas``), and the table of which form derives what
(``programmes.derived``).

It is neither the form language (``schemas/``, which says what a form *is* and
whether an answer is valid) nor the sync engine (``sync/``, which stores and
replicates documents): it is programme knowledge, sourced and tested against
the programmes' own references, that the engine, exports and reports all call.
``sync.derived`` is the one place that writes its results into the store.
"""
