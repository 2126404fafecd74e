"""The submissions pages over HTTP (Flask's test client, a real SQLite store): the list with
its filters and counts, one submission laid out by its form version in the page's language with
its photo, the review form and what it refuses. Every refusal is a page with a message in the
user's language and a 4xx, and writes nothing; what a role may not see is a 404."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from webworld import CSRF_RE, Web, submit_with_photo

from sync import records
from sync.errors import NotFound

TES = "uvs-tes"


def token(page_text: str) -> str:
    return CSRF_RE.search(page_text).group(1)


def error_of(page_text: str) -> str:
    found = re.search(r'class="error"[^>]*>([^<]+)<', page_text)
    return found.group(1) if found else ""


def detail_url(docid: str) -> str:
    return f"/web/submissions/{quote(docid, safe=':')}"


@pytest.fixture(scope="module")
def photo_sub(web: Web) -> dict:
    return submit_with_photo(web)


def review_of(web: Web, docid: str) -> dict | None:
    return records.read(web.svc.store.open(docid.split(":")[0]), docid.replace(":sub:", ":review:"))


def fresh(web: Web) -> dict:
    """A household visit of Tes nobody reviewed yet."""
    db = web.svc.store.open(TES)
    for row in db.all_docs(startkey=f"{TES}:sub:", endkey=f"{TES}:sub:\uffff", include_docs=True):
        if row["doc"].get("form") == "household_visit" and review_of(web, row["id"]) is None:
            return row["doc"]
    raise AssertionError("no unreviewed submission left")


def test_the_list_shows_counts_and_the_newest_first(web: Web, photo_sub: dict):
    client = web.logged_in("oyunaa")
    page = client.get(f"/web/areas/{TES}/submissions")
    assert page.status_code == 200
    assert "Household visit: family assessment" in page.text and "Child growth monitoring" in page.text
    created = re.findall(r"<td><a href=\"/web/submissions/[^\"]+\">(\d{4}-\d\d-\d\d \d\d:\d\d)</a>", page.text)
    assert created == sorted(created, reverse=True) and len(created) == 9  # 8 of the demo + the photo
    assert created[0] == "2026-11-20 11:30"  # the photo's, the newest
    counts = web.svc.store.open("_subindex").get(f"{TES}:meta")["counts"]
    assert sum(n for per in counts.values() for n in per.values()) == 9
    assert len(page.data) < 40_000


def test_filters(web: Web, photo_sub: dict):
    client = web.logged_in("oyunaa")
    base = f"/web/areas/{TES}/submissions"

    def rows(**query) -> list[str]:
        page = client.get(base, query_string=query)
        assert page.status_code == 200, page.text
        return re.findall(r'href="/web/submissions/([^"]+)"', page.text)

    everything = rows()
    growth = rows(form="child_growth")
    assert growth and set(growth) < set(everything)
    assert rows(form="child_growth", version="2") == []
    assert rows(author="bolormaa") == everything and rows(author="ganzorig") == []
    assert rows(q="Зурагтай") == [photo_sub["_id"]]  # the remarks, a text question
    assert rows(q="зурагтай") == [photo_sub["_id"]]  # any case
    assert rows(**{"from": "2026-11-20", "to": "2026-11-20"}) == [photo_sub["_id"]]
    assert photo_sub["_id"] not in rows(to="2026-11-19")
    assert rows(state="approved") == []


@pytest.mark.parametrize("query, en, mn", [
    ({"state": "banana"}, "There is no review state", "хяналтын төлөв байхгүй"),
    ({"version": "abc"}, "whole number", "бүхэл тоо"),
    ({"from": "2026-13-45"}, "YYYY-MM-DD", "ОООО-СС-ӨӨ"),
    ({"q": "ы" * 101}, "at most 100 characters", "Ихдээ 100"),
])
def test_bad_filters_are_a_400_page_in_the_users_language(web: Web, query, en, mn):
    for lang, said in (("en", en), ("mn", mn)):
        client = web.logged_in("oyunaa", lang=lang)
        client.post("/web/lang", data={"lang": lang, "csrf_token": token(client.get("/web/").text)})
        page = client.get(f"/web/areas/{TES}/submissions", query_string=query)
        assert page.status_code == 400 and page.mimetype == "text/html"
        assert said in error_of(page.text), (lang, error_of(page.text))


def test_one_submission_in_english_and_in_mongolian(web: Web, photo_sub: dict):
    docid = photo_sub["_id"]
    client = web.logged_in("oyunaa")
    client.post("/web/lang", data={"lang": "en", "csrf_token": token(client.get("/web/").text)})
    page = client.get(detail_url(docid))
    assert page.status_code == 200
    text = page.text
    assert "<legend>Household members</legend>" in text  # a repeat, one section per member
    assert "<h4>Household members 1</h4>" in text
    assert "<legend>Head of household</legend>" in text  # a group, by its label
    assert "Зурагтай айлчлал" in text  # the worker's own words, as written
    assert "<dt>Photo of the dwelling (with permission)</dt>" in text
    # in the form's order: the head of household (a group) comes before the dwelling and its photo
    assert text.index("<legend>Head of household</legend>") < text.index("Photo of the dwelling")
    assert f'src="/web/submissions/{docid}/photos/ger.jpg"' in text
    assert f'href="/web/submissions/{docid}/photos/ger.jpg?size=full"' in text
    assert ("Distance to the water source" in text) == ("water_distance_km" in photo_sub["data"])
    # the device that sent it: the one bolormaa pushed from (its user agent), with the time
    assert re.search(r"<h3>Devices of bolormaa</h3>\s*<ul>\s*<li>PouchDB/9.0.0 \(Tes tablet\) · last sent at 20\d\d-",
                     text)
    client.post("/web/lang", data={"lang": "mn", "csrf_token": token(text)})
    mn = client.get(detail_url(docid)).text
    assert "Өрхийн айлчлал" in mn and "Household visit" not in mn
    assert "<legend>Өрхийн гишүүд</legend>" in mn and "<dt>Орон байрны зураг (зөвшөөрөлтэй)</dt>" in mn
    assert 'lang="mn"' in mn


def test_skipped_questions_are_hidden(web: Web, photo_sub: dict):
    client = web.logged_in("oyunaa", lang="en")
    client.post("/web/lang", data={"lang": "en", "csrf_token": token(client.get("/web/").text)})
    page = client.get(detail_url(photo_sub["_id"])).text
    # needs_other applies only when "other" needs were chosen; the demo never chooses it.
    assert "Other need, please describe" not in page and "needs_other" not in page
    assert "needs_other" not in photo_sub["data"]


def test_the_photo_is_a_small_thumbnail_and_the_full_picture_on_a_click(web: Web, photo_sub: dict):
    client = web.logged_in("oyunaa")
    base = f"/web/submissions/{photo_sub['_id']}/photos/ger.jpg"
    original = web.svc.store.open(TES).get_attachment(photo_sub["_id"], "ger.jpg")[1]
    thumb = client.get(base)
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert len(thumb.data) < len(original) / 5 and len(thumb.data) < 40_000
    full = client.get(base + "?size=full")
    assert full.status_code == 200 and full.data == original
    again = client.get(base, headers={"If-None-Match": thumb.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(base + "?size=huge").status_code == 400
    assert client.get(f"/web/submissions/{photo_sub['_id']}/photos/other.jpg").status_code == 404


def test_a_review_with_a_cyrillic_comment_is_saved_and_shown(web: Web):
    sub = fresh(web)
    client = web.logged_in("oyunaa")
    page = client.get(detail_url(sub["_id"])).text
    resp = client.post(f"{detail_url(sub['_id'])}/review", data={
        "csrf_token": token(page), "status": "has_issues", "comment": "Өрхийн гишүүдийн нас зөрж байна.",
        "review_rev": "", "submission_rev": sub["_rev"]})
    assert resp.status_code == 302
    shown = client.get(resp.location).text
    assert "Өрхийн гишүүдийн нас зөрж байна." in shown and "state-has_issues" in shown
    listed = client.get(f"/web/areas/{TES}/submissions?state=has_issues").text
    assert sub["_id"] in listed
    stored = review_of(web, sub["_id"])
    assert stored["status"] == "has_issues" and stored["comments"][0]["by"] == "oyunaa"
    home = client.get("/web/").text  # the first page counts what waits, per area
    assert re.search(r'href="/web/areas/uvs-tes/submissions\?state=has_issues">Has issues: \d+</a>', home)


def bad_posts(sub: dict, review_rev: str) -> dict[str, tuple[dict, int, str, str]]:
    """Form posts that must be refused: (fields, status, English, Mongolian)."""
    good = {"review_rev": review_rev, "submission_rev": sub["_rev"]}
    return {
        "nothing chosen or written": ({**good}, 400, "Choose a state or write a comment",
                                      "Төлөв сонгох эсвэл сэтгэгдэл бичнэ үү"),
        "a state that does not exist": ({**good, "status": "banana"}, 400, "not a decision", "шийдвэр байхгүй"),
        "a 100 KB state": ({**good, "status": "ы" * 50_000}, 400, "not a decision", "шийдвэр байхгүй"),
        "a 100 KB comment": ({**good, "status": "approved", "comment": "ы" * 50_000}, 400,
                             "at most 4000 characters", "ихдээ 4000 тэмдэгт"),
        "a stale review": ({**good, "status": "approved", "review_rev": "1-" + "0" * 32}, 409,
                           "changed this review", "хяналтыг өөр хүн өөрчилсөн"),
        "a stale submission": ({**good, "status": "approved", "submission_rev": "1-" + "0" * 32}, 409,
                               "changed this submission", "илгээлтийг өөрчилсөн"),
    }


@pytest.mark.parametrize("lang", ["en", "mn"])
def test_bad_review_posts_are_a_4xx_page_with_a_message_and_write_nothing(web: Web, lang: str):
    sub = fresh(web)
    client = web.logged_in("oyunaa", lang=lang)
    client.post("/web/lang", data={"lang": lang, "csrf_token": token(client.get("/web/").text)})
    page = client.get(detail_url(sub["_id"])).text
    for case, (fields, status, en, mn) in bad_posts(sub, "").items():
        resp = client.post(f"{detail_url(sub['_id'])}/review", data={"csrf_token": token(page), **fields})
        assert resp.status_code == status, (case, resp.status_code)
        assert resp.mimetype == "text/html"
        said = error_of(resp.text)
        assert (en if lang == "en" else mn) in said and len(said) < 300, (case, said[:300])
        if fields.get("comment"):
            assert fields["comment"][:100] in resp.text  # what was typed is not lost
        assert review_of(web, sub["_id"]) is None, case
    resp = client.post(f"{detail_url(sub['_id'])}/review", data={"status": "approved", "submission_rev": sub["_rev"]})
    assert resp.status_code == 400 and review_of(web, sub["_id"]) is None  # no CSRF token


def test_every_page_and_action_is_404_for_workers_and_other_aimags(web: Web, photo_sub: dict):
    sub = photo_sub["_id"]
    for who in ("enkhjargal", "bolormaa"):  # Övörkhangai's coordinator; the author herself, a worker
        client = web.logged_in(who)
        csrf = token(client.get("/web/").text)
        for method, path, data in (
            ("GET", f"/web/areas/{TES}/submissions", None),
            ("GET", f"/web/areas/{TES}/submissions?state=has_issues", None),
            ("GET", detail_url(sub), None),
            ("GET", f"/web/submissions/{sub}/photos/ger.jpg", None),
            ("GET", f"/web/submissions/{sub}/photos/ger.jpg?size=full", None),
            ("POST", f"{detail_url(sub)}/review", {"csrf_token": csrf, "status": "approved",
                                                   "submission_rev": photo_sub["_rev"]}),
            ("GET", detail_url(f"{TES}:sub:01JZZZZZZZZZZZZZZZZZZZZZZZ"), None),
        ):
            resp = client.open(path, method=method, data=data)
            assert resp.status_code == 404, (who, method, path, resp.status_code)
            assert "Зурагтай" not in resp.text and b"\xff\xd8" not in resp.data
    missing = web.logged_in("oyunaa").get(detail_url(f"{TES}:sub:01JZZZZZZZZZZZZZZZZZZZZZZZ"))
    assert missing.status_code == 404  # the same answer as for a submission that does not exist
    assert review_of(web, sub) is None or review_of(web, sub)["status"] != "approved"


def test_pages_send_the_visitor_to_the_login_first(web: Web, photo_sub: dict):
    client = web.browser()
    resp = client.get(detail_url(photo_sub["_id"]))
    assert resp.status_code == 302 and resp.location.startswith("/web/login?next=")
    page = client.get(resp.location)
    assert page.status_code == 200
    login = client.post("/web/login", data={"name": "oyunaa", "password": "fieldsync-demo",
                                            "csrf_token": token(page.text),
                                            "next": resp.location.split("next=", 1)[1]})
    assert login.status_code == 302 and login.location == detail_url(photo_sub["_id"])


def test_a_deleted_submission_is_gone_from_the_pages(web: Web):
    sub = fresh(web)
    db = web.svc.store.open(TES)
    db.bulk_docs([{"_id": sub["_id"], "_rev": sub["_rev"], "_deleted": True}])
    client = web.logged_in("oyunaa")
    assert sub["_id"] not in client.get(f"/web/areas/{TES}/submissions").text
    assert client.get(detail_url(sub["_id"])).status_code == 404
    with pytest.raises(NotFound):
        db.get(sub["_id"])
