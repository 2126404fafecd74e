"""JMP service levels of a kindergarten visit, worked by hand from programmes.md section 4.1.

Each row of the ladders is exercised: water (improved + available = basic,
improved without water = limited, unimproved or none = no service),
sanitation (improved, single-sex and usable = basic; improved but mixed or
none usable = limited; unimproved = no service), hygiene (facility with water
and soap = basic; without one of them = limited; no facility = no service);
the "advanced" proposal on top of basic, the weakest service as overall, and
the norms share met / (met + not met).
"""

from __future__ import annotations

import pytest

from programmes import wash

WATER_OK = {"source": "piped", "available_now": "yes"}
SANITATION_OK = {"toilet_type": "pit_with_slab", "single_sex": "yes", "toilet_count": 2, "usable_count": 1}
HYGIENE_OK = {"facility": "yes", "soap_water": "water_and_soap"}


@pytest.mark.parametrize(("answers", "level"), [
    ({"source": "piped", "available_now": "yes"}, "basic"),
    ({"source": "tanker_truck", "available_now": "yes"}, "basic"),  # delivered water is improved
    ({"source": "protected_well", "available_now": "no"}, "limited"),
    ({"source": "water_kiosk", "available_now": "no"}, "limited"),
    ({"source": "unprotected_well", "available_now": "yes"}, "none"),
    ({"source": "surface", "available_now": "yes"}, "none"),
    ({"source": "none"}, "none"),
    ({"source": "piped", "available_now": "yes", "water_treated": "yes", "storage_clean": "yes"}, "advanced"),
    ({"source": "piped", "available_now": "yes", "water_treated": "yes", "storage_clean": "no"}, "basic"),
    ({"source": "piped", "available_now": "no", "water_treated": "yes", "storage_clean": "yes"}, "limited"),
])
def test_drinking_water_ladder(answers, level):
    assert wash.water_service(answers) == level


@pytest.mark.parametrize(("answers", "level"), [
    ({"toilet_type": "flush", "single_sex": "yes", "toilet_count": 4, "usable_count": 3}, "basic"),
    ({"toilet_type": "container_unit", "single_sex": "yes", "toilet_count": 2, "usable_count": 2}, "basic"),
    ({"toilet_type": "pit_with_slab", "single_sex": "no", "toilet_count": 2, "usable_count": 2}, "limited"),
    ({"toilet_type": "pit_with_slab", "single_sex": "yes", "toilet_count": 2, "usable_count": 0}, "limited"),
    ({"toilet_type": "pit_without_slab", "single_sex": "yes", "toilet_count": 2, "usable_count": 2}, "none"),
    ({"toilet_type": "open", "single_sex": "yes", "toilet_count": 1, "usable_count": 1}, "none"),
    ({"toilet_type": "none"}, "none"),
    ({"toilet_type": "flush", "single_sex": "yes", "toilet_count": 1, "usable_count": 1,
      "child_safe": "yes", "usable_in_winter": "yes"}, "advanced"),
    ({"toilet_type": "flush", "single_sex": "no", "toilet_count": 1, "usable_count": 1,
      "child_safe": "yes", "usable_in_winter": "yes"}, "limited"),  # advanced needs basic first
])
def test_sanitation_ladder(answers, level):
    assert wash.sanitation_service(answers) == level


@pytest.mark.parametrize(("answers", "level"), [
    ({"facility": "yes", "soap_water": "water_and_soap"}, "basic"),
    ({"facility": "yes", "soap_water": "water_only"}, "limited"),
    ({"facility": "yes", "soap_water": "soap_only"}, "limited"),
    ({"facility": "yes", "soap_water": "neither"}, "limited"),
    ({"facility": "no"}, "none"),
    ({"facility": "yes", "soap_water": "water_and_soap", "near_toilet": "yes", "near_eating": "yes",
      "warm_water": "yes"}, "advanced"),
    ({"facility": "yes", "soap_water": "water_and_soap", "near_toilet": "yes", "near_eating": "yes",
      "warm_water": "no"}, "basic"),
])
def test_hygiene_ladder(answers, level):
    assert wash.hygiene_service(answers) == level


def test_a_visit_derives_three_levels_the_weakest_overall_and_the_norms_share():
    data = {"kindergarten": "uvs-tes:kg:K1", "visit_date": "2026-03-11",
            "water": {"source": "piped", "available_now": "yes", "water_treated": "yes", "storage_clean": "yes"},
            "sanitation": {**SANITATION_OK, "single_sex": "no"}, "hygiene": HYGIENE_OK,
            "norms": [{"norm_item": "W-1", "norm_status": "met"}, {"norm_item": "W-2", "norm_status": "met"},
                      {"norm_item": "S-1", "norm_status": "not_met"}, {"norm_item": "H-1", "norm_status": "na"}]}
    got = wash.derive(data)
    assert (got["water_service"], got["sanitation_service"], got["hygiene_service"]) == ("advanced", "limited", "basic")
    assert got["overall_service"] == "limited"
    # 2 met of 3 applicable (N/A left out): 66.7%
    assert (got["norms_met"], got["norms_not_met"], got["norms_na"], got["norms_met_pct"]) == (2, 1, 1, 66.7)
    assert got["unmet_norms"] == ["S-1"]
    assert set(wash.COLUMNS) <= set(got)


def test_no_applicable_norm_has_no_share_and_a_visit_needs_its_kindergarten():
    assert wash.norms_tally([{"norm_item": "X", "norm_status": "na"}])["norms_met_pct"] is None
    assert wash.norms_tally(None)["norms_met_pct"] is None
    with pytest.raises(ValueError):
        wash.derive({"visit_date": "2026-01-01"})


def test_the_tally_counts_each_kindergarten_at_its_latest_visit():
    def v(kg, day, w, s, h):
        return {"kindergarten": kg, "visit_date": day, "about": f"x:sub:{kg}{day}", "water_service": w,
                "sanitation_service": s, "hygiene_service": h, "overall_service": wash.lowest([w, s, h])}
    visits = [v("A", "2026-03-01", "none", "none", "none"), v("A", "2026-10-01", "basic", "limited", "basic"),
              v("B", "2026-10-02", "advanced", "basic", "basic"), v("C", "2025-10-01", "limited", "none", "basic")]
    by_kg = wash.latest_per_kindergarten(reversed(visits))
    assert [x["visit_date"] for x in by_kg["A"]] == ["2026-03-01", "2026-10-01"]
    t = wash.tally(h[-1] for h in by_kg.values())
    assert t["kindergartens"] == 3
    assert t["levels"]["water"] == {"advanced": 1, "basic": 1, "limited": 1, "none": 0}
    assert t["levels"]["overall"] == {"advanced": 0, "basic": 1, "limited": 1, "none": 1}
    assert t["basic_or_better"]["water"] == 66.7 and t["basic_or_better"]["sanitation"] == 33.3
    assert wash.tally([])["basic_or_better"]["water"] is None


def test_the_tally_by_type_of_facility():
    rows = [{"facility_type": "ger_kindergarten", "water_service": "basic", "sanitation_service": "none",
             "hygiene_service": "basic", "overall_service": "none"},
            {"facility_type": "ger_kindergarten", "water_service": "limited", "sanitation_service": "basic",
             "hygiene_service": "advanced", "overall_service": "limited"},
            {"facility_type": "kindergarten", "water_service": "advanced", "sanitation_service": "basic",
             "hygiene_service": "basic", "overall_service": "basic"}]
    got = wash.tally_by_type(rows)
    assert list(got) == ["ger_kindergarten", "kindergarten"]
    assert got["ger_kindergarten"]["kindergartens"] == 2
    assert got["ger_kindergarten"]["basic_or_better"] == {"water": 50.0, "sanitation": 50.0, "hygiene": 100.0,
                                                          "overall": 0.0}
    assert got["kindergarten"]["basic_or_better"]["overall"] == 100.0
