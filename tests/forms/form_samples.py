"""Realistic submissions of the bundled forms, as a worker's device would send them.

Each entry: (form id, data, attachments).  Tests copy and break them to check
that the right answer path is named.
"""

from __future__ import annotations

import copy

JPEG = {"content_type": "image/jpeg", "stub": True, "length": 84211, "digest": "md5-abc"}

SAMPLES: dict[str, tuple[dict, dict]] = {
    "household_visit": (
        {
            "consent": "yes",
            "visit_date": "2025-10-14",
            "location": {"lat": 49.9811, "lon": 92.0667, "alt": 939.0, "accuracy": 6.5},
            "bag": "3-р баг Тэс",
            "head": {
                "head_name": "Батбаярын Болормаа",
                "head_sex": "female",
                "head_age": 38,
                "phone": "99112233",
            },
            "dwelling": "ger",
            "migration": "seasonal",
            "household_size": 5,
            "members": [
                {
                    "member_name": "Болормаа",
                    "member_relation": "head",
                    "member_sex": "female",
                    "member_age": 38,
                },
                {
                    "member_name": "Ганбат",
                    "member_relation": "spouse",
                    "member_sex": "male",
                    "member_age": 41,
                },
                {
                    "member_name": "Тэмүүлэн",
                    "member_relation": "child",
                    "member_sex": "male",
                    "member_age": 9,
                    "in_school": "yes",
                },
                {
                    "member_name": "Номин",
                    "member_relation": "child",
                    "member_sex": "female",
                    "member_age": 4,
                    "in_school": "no",
                    "disability": "no",
                },
            ],
            "herder": "yes",
            "livestock": {"sheep": 230, "goats": 140, "cattle": 12, "horses": 18, "camels": 0},
            "water_source": "well",
            "water_distance_km": 2.5,
            "heating_fuel": ["dung", "wood"],
            "needs": ["fuel", "other"],
            "needs_other": "Өвлийн хувцас",
            "monthly_income": 850000,
            "welfare": "yes",
            "dwelling_photo": "ger.jpg",
            "remarks": "Өвөлжөө рүү 11-р сард нүүнэ.",
        },
        {"ger.jpg": JPEG},
    ),
    "child_growth": (
        {
            "measure_date": "2025-10-14",
            "location": "49.9811 92.0667 939 6.5",
            "child_name": "Энхжин",
            "child_sex": "female",
            "birth_date": "2024-03-02",
            "age_months": 19,
            "weight_kg": 10.4,
            "height_position": "lying",
            "height_cm": 79.5,
            "muac_mm": 138,
            "oedema": "no",
            "foods_yesterday": ["breastmilk", "porridge", "dairy"],
            "vaccinations": [
                {"vaccine": "bcg", "vaccine_date": "2024-03-03"},
                {"vaccine": "hepb", "vaccine_date": "2024-03-03"},
                {"vaccine": "mmr", "vaccine_date": "2025-03-10"},
            ],
            "card_photo": "card.jpg",
            "referral": "none",
        },
        {"card.jpg": JPEG},
    ),
    "ger_kindergarten_visit": (
        {
            "visit_date": "2025-07-02",
            "kindergarten_name": "Тэс сумын 2-р гэр цэцэрлэг",
            "location": {"lat": 50.0231, "lon": 93.1022},
            "teacher_name": "Оюунчимэг",
            "children_enrolled": 18,
            "attendance": [
                {"child_name": "Анударь", "child_sex": "girl", "child_age": 4, "present": "yes"},
                {"child_name": "Мөнх-Эрдэнэ", "child_sex": "boy", "child_age": 5, "present": "yes"},
                {
                    "child_name": "Хулан",
                    "child_sex": "girl",
                    "child_age": 3,
                    "present": "no",
                    "absence_reason": "moved",
                },
            ],
            "wash": {
                "drinking_water": "delivered",
                "water_boiled": "yes",
                "water_litres": 120.0,
                "handwashing_station": "yes",
                "soap": "no",
                "station_photo": "station.jpg",
                "toilet": "covered_pit",
                "toilet_distance_m": 30,
                "waste_disposal": ["burned", "buried"],
            },
            "issues": ["no_soap"],
            "ger_temperature_c": 17.5,
        },
        {"station.jpg": JPEG},
    ),
    "child_protection_referral": (
        {
            "referral_time": "2025-11-03T16:20:00+08:00",
            "location": {"lat": 49.6342, "lon": 100.1623, "accuracy": 12.0},
            "case_code": "TES-2025-014",
            "child_sex": "girl",
            "child_age": 12,
            "reported_by": "teacher",
            "concerns": ["neglect", "out_of_school"],
            "urgency": "72h",
            "safe_now": "yes",
            "referred_to": ["social_worker", "school"],
            "contacts": [
                {
                    "contact_agency": "social_worker",
                    "contact_time": "2025-11-03T17:05:00+08:00",
                    "contact_outcome": "Маргааш айлд очно.",
                }
            ],
            "consent_obtained": "yes",
            "consent_form": "consent.jpg",
            "summary": "Хүүхэд 3 долоо хоног сургуульд ирээгүй, гэрт ганцаараа байдаг.",
        },
        {"consent.jpg": JPEG},
    ),
    "health_scorecard": (
        {
            "meeting_date": "2025-09-20",
            "facility_type": "soum_health_centre",
            "facility_name": "Тэс сумын эрүүл мэндийн төв",
            "location": {"lat": 50.0001, "lon": 93.1, "alt": 1201.5, "accuracy": 9.0},
            "participants": {"women": 14, "men": 9, "health_staff": 3},
            "groups_represented": ["women", "herders", "elderly"],
            "scores": [
                {"indicator": "waiting", "score": 2, "reason": "Эмч ганцаараа, дараалал урт."},
                {"indicator": "attitude", "score": 4},
                {"indicator": "medicines", "score": 1, "reason": "Хүүхдийн эм байнга дутдаг."},
            ],
            "overall_score": 3,
            "top_priority": "medicines",
            "action": "Аймгаас хүүхдийн эмийн нөөцийг сар бүр нөхөх хүсэлт гаргах.",
            "action_owner": "facility",
            "action_deadline": "2025-10-31",
            "flipchart_photo": "flipchart.jpg",
            "facilitator": "Сарангэрэл",
        },
        {"flipchart.jpg": JPEG},
    ),
    "growth_visit": (
        {
            "child_id": "uvs-tes:child:01JDQ7Z3K8M2N4P6Q8R0S2T4V6",
            "child_name": "Энхжин",
            "bag": "3-р баг",
            "visit_date": "2025-10-14",
            "location": {"lat": 49.9811, "lon": 92.0667},
            "dob": "2024-03-02",
            "dob_approximate": "no",
            "sex": "f",
            "weight_kg": 10.45,
            "position": "l",
            "lenhei_cm": 79.5,
            "oedema": "no",
            "muac_mm": 138,
            "illnesses": [{"illness": "diarrhoea", "illness_days": 3}],
            "services": ["vitamin_d", "feeding_counselling"],
            "card_photo": "card.jpg",
            "measurer_id": "bolormaa",
        },
        {"card.jpg": JPEG},
    ),
    "lqas_interview": (
        {
            "sa": "2-р баг",
            "sa_households": 95,
            "respondent_no": 7,
            "interview_date": "2025-10-20",
            "location": {"lat": 50.4702, "lon": 93.6011},
            "consent": "yes",
            "respondent_type": "mother_12_23",
            "child_age_months": 15,
            "fully_vaccinated": "yes",
            "card_photo": "vaccines.jpg",
            "weighed_3_months": "no",
            "knows_ors": "yes",
            "handwash_times": ["after_toilet", "before_feeding", "other"],
            "other_children": [{"other_age_years": 3}],
            "interviewer": "Нарантуяа",
        },
        {"vaccines.jpg": JPEG},
    ),
}


def sample(form: str) -> tuple[dict, dict]:
    """A fresh copy of the sample submission of `form`, safe to break."""
    data, attachments = SAMPLES[form]
    return copy.deepcopy(data), copy.deepcopy(attachments)
