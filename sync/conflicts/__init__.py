"""Conflicting revisions of a document: compared field by field (``fields``), merged by the
server when the edits are disjoint, held for a person when they overlap (``resolver``), with
the bodies a three-way merge needs kept by the server (``bases``) and the documents waiting for
a person listed (``index``)."""
