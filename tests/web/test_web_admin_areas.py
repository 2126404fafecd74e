"""The admins' area pages over HTTP, on SQLite and CouchDB: the tree with each data area's
document count, adding and editing an area (recorded before/after), and importing a CSV
whose every problem is listed with row and column while nothing is stored."""

from __future__ import annotations

import html
import io
import re

import pytest
from test_web_admin_users import STORES, login, token, trail

from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, seed_demo
from sync.scopes import GLOBAL


@pytest.fixture(scope="module", params=STORES)
def app(request, tmp_path_factory):
    from protocol_helpers import close_app, make_backend_app

    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("webareas") / "data")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, address_slow_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=3)
    svc.users.add("chief", "admin", [], DEMO_PASSWORD)
    yield app
    close_app(app)


@pytest.fixture
def svc(app):
    return app.extensions["fieldsync"]


def text(resp) -> str:
    return html.unescape(resp.text)


def test_the_tree_shows_each_data_areas_document_count(app, svc):
    page = text(login(app, "chief").get("/web/admin/areas"))
    tes_docs = svc.store.open("uvs-tes").info()["doc_count"]
    assert tes_docs >= 3
    row = re.search(r'<th scope="row"[^>]*>Tes soum</th>(.*?)</tr>', page, re.S).group(1)
    assert f'<td class="num">{tes_docs}</td>' in row
    aimag = re.search(r'<th scope="row"[^>]*>Uvs aimag</th>(.*?)</tr>', page, re.S).group(1)
    assert '<td class="num">—</td>' in aimag  # an aimag holds no data of its own


def test_an_admin_adds_and_edits_an_area_and_both_are_recorded(app, svc):
    client = login(app, "chief", "mn")
    t = token(client, "/web/admin/areas/new")
    resp = client.post("/web/admin/areas", data={"csrf_token": t, "code": "uvs-ulgii", "name_en": "Ölgii soum",
                                                 "name_mn": "Өлгий сум", "parent": "uvs", "level": "soum",
                                                 "holds_data": "1"})
    assert resp.status_code == 302
    area = svc.areas.tree().areas["uvs-ulgii"]
    assert area.name == {"en": "Ölgii soum", "mn": "Өлгий сум"} and area.holds_data
    assert svc.store.exists("uvs-ulgii")
    assert "Өлгий сум" in text(client.get("/web/admin/areas"))
    resp = client.post("/web/admin/areas/uvs-ulgii", data={"csrf_token": t, "name_en": "Ulgii soum",
                                                           "name_mn": "Өлгий сум", "parent": "uvs",
                                                           "level": "soum", "holds_data": "1"})
    assert resp.status_code == 302
    assert svc.areas.tree().areas["uvs-ulgii"].name["en"] == "Ulgii soum"
    [changed] = [e for e in trail(svc, "area.changed") if e["area"] == "uvs-ulgii"]
    assert changed["actor"] == "chief"
    assert changed["before"] == {"name": {"en": "Ölgii soum", "mn": "Өлгий сум"}}
    assert changed["after"] == {"name": {"en": "Ulgii soum", "mn": "Өлгий сум"}}
    assert [e["area"] for e in trail(svc, "area.added")][0] == "uvs-ulgii"


BAD_AREAS = {
    "a bad code": ({"code": "Өлгий", "name_en": "X"}, 400, "нутгийн код биш"),
    "no English name": ({"code": "x-new", "name_en": ""}, 400, "Англи нэр алга."),
    "an unknown parent": ({"code": "x-new", "name_en": "X", "parent": "nowhere"}, 400, "'nowhere' гэсэн дээд нутаг алга"),
    "an unknown level": ({"code": "x-new", "name_en": "X", "level": "province"}, 400, "Түвшинг жагсаалтаас"),
    "a code taken": ({"code": "uvs-tes", "name_en": "X"}, 409, "аль хэдийн байна"),
}


@pytest.mark.parametrize("form, status, words", BAD_AREAS.values(), ids=BAD_AREAS.keys())
def test_a_bad_area_is_refused_in_mongolian_and_nothing_is_written(app, svc, form, status, words):
    client = login(app, "chief", "mn")
    seq = svc.store.open(GLOBAL).update_seq()
    resp = client.post("/web/admin/areas", data={"csrf_token": token(client, "/web/admin/areas/new"), **form})
    assert resp.status_code == status
    assert words in text(resp)
    assert svc.store.open(GLOBAL).update_seq() == seq


def test_an_area_cannot_be_moved_inside_itself_nor_stop_holding_data(app, svc):
    client = login(app, "chief")
    t = token(client, "/web/admin/areas/new")
    resp = client.post("/web/admin/areas/uvs", data={"csrf_token": t, "name_en": "Uvs aimag", "parent": "uvs-tes"})
    assert resp.status_code == 400 and "cannot be its own ancestor" in text(resp)
    resp = client.post("/web/admin/areas/uvs-tes", data={"csrf_token": t, "name_en": "Tes soum", "parent": "uvs"})
    assert resp.status_code == 400 and "keeps holding it" in text(resp)
    assert svc.areas.tree().areas["uvs"].parent is None and svc.areas.tree().areas["uvs-tes"].holds_data
    assert client.get("/web/admin/areas/nowhere").status_code == 404


def upload(client, content: bytes, name: str = "areas.csv"):
    return client.post("/web/admin/areas/import", content_type="multipart/form-data",
                       data={"csrf_token": token(client, "/web/admin/areas"), "file": (io.BytesIO(content), name)})


def test_a_csv_with_problems_lists_each_with_row_and_column_and_stores_nothing(app, svc):
    client = login(app, "chief", "mn")
    bad = ("code,name_en,name_mn,parent,level,holds_data\n"
           "khov,Khovd aimag,Ховд аймаг,,aimag,false\n"
           "Khov-Jargalant,Jargalant,,khov,soum,true\n"
           "khov-buyant,,Буянт сум,khov,province,maybe\n"
           "khov-erdene,Erdeneburen,,khov-nowhere,soum,\n").encode()
    seq, names = svc.store.open(GLOBAL).update_seq(), svc.store.names()
    resp = upload(client, "\ufeff".encode() + bad)
    assert resp.status_code == 400
    page = text(resp)
    rows = re.findall(r"<tr><td>(\d+)</td><td class=\"code\">([a-z_]+)</td><td>([^<]+)</td></tr>", page)
    assert [(r, c) for r, c, _ in rows] == [("3", "code"), ("4", "name_en"), ("4", "level"), ("4", "holds_data"),
                                            ("5", "parent")]
    assert "Англи нэр алга." in page and "'khov-nowhere'" in page and "Юу ч оруулсангүй" in page
    assert svc.store.open(GLOBAL).update_seq() == seq and svc.store.names() == names
    assert "khov" not in svc.areas.tree().areas


def test_a_good_csv_is_stored_and_recorded(app, svc):
    client = login(app, "chief", "en")
    good = ("code,name_en,name_mn,parent,level,holds_data\n"
            "khov-jargalant,Jargalant soum,Жаргалант сум,khov,soum,true\n"
            "khov,Khovd aimag,Ховд аймаг,,aimag,false\n").encode()
    resp = upload(client, good)
    assert resp.status_code == 302
    tree = svc.areas.tree()
    assert tree.areas["khov-jargalant"].parent == "khov" and svc.store.exists("khov-jargalant")
    entry = trail(svc, "area.imported")[0]
    assert entry["rows"] == 2 and entry["added"] == ["khov", "khov-jargalant"] and entry["file"] == "areas.csv"


@pytest.mark.parametrize("content, status, words", [
    (b"", 400, "needs at least the columns code and name_en"),
    (b"code,name_en\n", 400, "The file has no areas."),
    ("code,name_en\nx-1,Ö\n".encode("cp1251", errors="replace") + b"\xff\xfe", 400, "not UTF-8"),
], ids=["empty", "a header only", "not utf-8"])
def test_unusable_files_are_refused(app, svc, content, status, words):
    resp = upload(login(app, "chief"), content)
    assert resp.status_code == status and words in text(resp)
