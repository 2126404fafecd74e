"""Where pouchdb-server 4.2 is not CouchDB 3: the one catalogue for the CouchDB-backend runs.

The CouchDB backend (``sync/stores/couchdb.py``) is written to CouchDB 3's
documented behaviour, and its tests run against Apache CouchDB 3.5 (one node
and a 3-node cluster from ``../shared/couchdb``, or the servers
``FIELDSYNC_TEST_COUCHDB_URL`` and ``FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS`` name).
Only on a machine without any of those do they fall back to pouchdb-server (in
memory). Where pouchdb-server behaves otherwise, the test is marked
``xfail(strict=True)`` for the pouchdb-server run only, with one reason per
gap below; the backend never special-cases the server. Strict: when
pouchdb-server is fixed (or a test stops depending on the gap), the xfail
turns into a failure and the entry must go.

* ``POUCHDB_SERVER_GAPS``: store conformance tests (``tests/store_conformance.py``),
  applied in ``tests/test_store_couch.py``.
* ``PROTOCOL_GAPS``: HTTP protocol tests (``tests/test_protocol_*.py``) on the
  ``couchdb`` run of the ``app`` fixture, applied in ``tests/protocol_helpers.py``
  (``mark_pouchdb_server_gaps``); entries are ``module::test``.
"""

from __future__ import annotations

import pytest
from servers import on_apache_couchdb

ON_COUCHDB = on_apache_couchdb()

# -- the gaps -----------------------------------------------------------------------------
DELETE_MISSING_DB = "DELETE /{db} of a missing database answers 200, CouchDB 3 answers 404"
NO_DOC_DEL_COUNT = "GET /{db} has no doc_del_count (CouchDB 3 documents it)"
DELETED_REASON = "a deleted document's 404 has reason 'missing', CouchDB 3 says 'deleted'"
TOMBSTONE_EDIT = (
    "a tombstone can be edited through its _rev; CouchDB 3 (couch_db_updater:merge_rev_tree) "
    "recreates a deleted document only from a revision depth of 1, otherwise conflict"
)
NO_DELETED_CONFLICTS = "no deleted_conflicts option (no _deleted_conflicts member)"
LEAF_ORDER = "losing leaves come in another order than CouchDB's (live, generation, rev id, descending)"
LATEST_ONE_LEAF = (
    "open_revs (and _bulk_get) with latest=true answers one leaf, not every leaf under the revision"
)
REVISIONS_REPEATED_HASH = "_revisions leaves out a hash repeated at two generations (3-c, 2-c)"
BULK_GET_SHAPE = (
    "_bulk_get groups results by id, drops items without rev and reports errors as "
    "{missing} or {} (a tombstone asked without rev too), not CouchDB 3's "
    "{error: {id, rev, error, reason}} in request order"
)
STUB_BY_DIGEST = (
    "attachment stubs are looked up by digest, not by name in the parent revision as "
    "CouchDB does, so a stub without digest is missing_stub and another document's "
    "digest is accepted"
)
REVPOS_REPLACED = "new_edits=false replaces a replicated attachment's revpos with the revision's generation"
NO_POSSIBLE_ANCESTORS = "_revs_diff gives no possible_ancestors (and calls a stored ancestor missing)"
ALL_DOCS_LATIN1 = "_all_docs without an endkey stops after U+00FF (ids in Cyrillic are left out)"
ATTS_SINCE_IGNORED = (
    "atts_since is ignored (GET, open_revs, _bulk_get): attachments the client already has "
    "come with their data again, CouchDB 3 sends them as stubs"
)
NO_LOCAL_SEQ = "local_seq=true gives no _local_seq member (CouchDB 3 documents it)"
CONFLICT_REASON = (
    "a _bulk_docs conflict's reason is 'Document update conflict', CouchDB 3's is "
    "'Document update conflict.'"
)
NO_LOCAL_DOCS = "no GET /{db}/_local_docs (CouchDB 2.2 and later list _local documents there)"
LONGPOLL_IGNORES_TIMEOUT = (
    "a longpoll _changes ignores timeout= and is held open until a change (CouchDB 3 ends it "
    "with empty results), so a long-poll read returns late and no heartbeat is due"
)
FILTERED_LAST_SEQ = (
    "with filter=_doc_ids, last_seq is the last listed row's sequence, not the end of what the "
    "filter scanned (CouchDB 3's), so a filtered reader is shown nothing twice but rescans"
)

# -- store conformance tests ---------------------------------------------------------------
POUCHDB_SERVER_GAPS: dict[str, list[str]] = {
    DELETE_MISSING_DB: [
        "test_delete_missing_scope_is_not_found",
    ],
    NO_DOC_DEL_COUNT: [
        "test_info_of_an_empty_scope",
        "test_a_document_may_be_created_deleted",
        "test_info_counts_follow_creates_deletes_and_recreates",
        "test_new_edits_false_is_idempotent",
        "test_all_leaves_deleted_means_the_document_is_deleted",
        "test_deleting_the_winner_promotes_the_other_branch",
    ],
    DELETED_REASON: [
        "test_create_read_update_delete",
    ],
    TOMBSTONE_EDIT: [
        "test_a_deleted_document_is_recreated_only_without_rev",
    ],
    NO_DELETED_CONFLICTS: [
        "test_a_live_leaf_beats_a_deleted_leaf_of_higher_generation",
        "test_deleting_the_losing_branch_resolves_the_conflict",
        "test_a_deleted_losing_branch_can_be_extended_while_the_document_lives",
    ],
    LEAF_ORDER: [
        "test_conflicts_are_listed_in_couchdb_order",
        "test_changes_style_all_docs_lists_every_leaf_winner_first",
    ],
    LATEST_ONE_LEAF: [
        "test_open_revs_latest_turns_an_ancestor_into_its_leaves",
    ],
    REVISIONS_REPEATED_HASH: [
        "test_open_revs_with_revisions",
    ],
    BULK_GET_SHAPE: [
        "test_bulk_get_answers_in_request_order",
        "test_bulk_get_reports_missing_documents_and_revisions",
        "test_bulk_get_of_a_deleted_document",
    ],
    STUB_BY_DIGEST: [
        "test_stub_keeps_the_attachment_in_the_next_revision",
        "test_atts_since_omits_what_the_client_already_has",
        "test_open_revs_with_attachments_and_atts_since",
        "test_stub_with_a_different_revpos_is_missing_stub",
        "test_stub_cannot_borrow_another_documents_attachment",
        "test_bulk_get_with_revisions_latest_and_atts_since",
    ],
    REVPOS_REPLACED: [
        "test_replicated_attachment_keeps_its_revpos_and_later_stubs_resolve",
    ],
    NO_POSSIBLE_ANCESTORS: [
        "test_revs_diff_reports_missing_and_possible_ancestors",
    ],
    ALL_DOCS_LATIN1: [
        "test_all_docs_are_in_raw_codepoint_order",
    ],
    FILTERED_LAST_SEQ: [
        "test_last_seq_moves_past_the_changes_a_filter_passed_over",
    ],
}

# Not run at all on pouchdb-server: it throws "Unable to resolve latest revision" outside
# any handler and the process exits, taking every later test down with it.
POUCHDB_SERVER_CRASHES = {
    "test_open_revs_latest_of_an_unknown_revision_is_missing":
        "open_revs with latest=true and an unknown revision kills pouchdb-server "
        "(uncaught 'Unable to resolve latest revision')",
}

# -- HTTP protocol tests ----------------------------------------------------------------------
PROTOCOL_GAPS: dict[str, list[str]] = {
    DELETE_MISSING_DB: [
        "test_protocol_databases::test_delete_database",
    ],
    NO_DOC_DEL_COUNT: [
        "test_protocol_databases::test_new_database_info",
        "test_protocol_databases::test_info_counts_documents_and_deletions",
        "test_protocol_bulk::test_bulk_docs_updates_and_deletes",
    ],
    DELETED_REASON: [
        "test_protocol_documents::test_delete_leaves_a_tombstone",
    ],
    NO_DELETED_CONFLICTS: [
        "test_protocol_documents::test_conflicts_and_deleted_conflicts",
    ],
    LEAF_ORDER: [
        "test_protocol_changes::test_style_all_docs_lists_every_leaf_winner_first",
    ],
    LATEST_ONE_LEAF: [
        "test_protocol_documents::test_open_revs_latest_follows_to_the_leaves",
        "test_protocol_bulk::test_bulk_get_latest_follows_to_the_leaves",
    ],
    BULK_GET_SHAPE: [
        "test_protocol_bulk::test_bulk_get_revisions_and_errors",
    ],
    STUB_BY_DIGEST: [
        # CouchDB 3 refuses the stub (its parent revision is unknown: missing_stub);
        # pouchdb-server takes keep's bytes by digest, stores the stub's bad metadata
        # verbatim, then fails to serve the attachment (500).
        "test_protocol_bad_input::test_stub_metadata_cannot_corrupt_a_document",
        "test_protocol_multipart::test_a_stub_cannot_borrow_another_documents_bytes",
    ],
    REVPOS_REPLACED: [
        "test_protocol_multipart::test_replicator_push_with_attachments",
    ],
    NO_POSSIBLE_ANCESTORS: [
        "test_protocol_bulk::test_revs_diff_reports_only_what_is_missing",
        "test_protocol_bulk::test_revs_diff_possible_ancestors_are_older_leaves",
    ],
    ATTS_SINCE_IGNORED: [
        "test_protocol_documents::test_atts_since_sends_only_newer_attachments",
        "test_protocol_bulk::test_bulk_get_attachments_and_atts_since",
        "test_protocol_multipart::test_atts_since_sends_stubs_for_what_the_client_has",
        "test_protocol_multipart::test_all_attachments_already_known_gives_a_json_part",
    ],
    NO_LOCAL_SEQ: [
        "test_protocol_documents::test_local_seq",
    ],
    CONFLICT_REASON: [
        "test_protocol_bulk::test_bulk_docs_conflict_is_per_document",
    ],
    LONGPOLL_IGNORES_TIMEOUT: [
        "test_protocol_changes::test_continuous_feed_sends_heartbeats_and_new_changes",
    ],
}


def protocol_gap(item: pytest.Item) -> str | None:
    """The catalogued gap a protocol test depends on, if any."""
    key = f"{item.module.__name__}::{getattr(item, 'originalname', item.name)}"
    for reason, names in PROTOCOL_GAPS.items():
        if key in names:
            return reason
    return None


def mark_pouchdb_server_gaps(item: pytest.Item, backend: str) -> None:
    """Mark ``item`` xfail (strict) when it runs on pouchdb-server and depends on a gap."""
    if backend != "couchdb" or ON_COUCHDB:
        return
    reason = protocol_gap(item)
    if reason is not None:
        item.add_marker(pytest.mark.xfail(strict=True, reason=f"pouchdb-server: {reason}"))
