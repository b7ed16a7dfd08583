#!/usr/bin/env python3
"""Writes samples/county-small.jsonl and samples/county-small.facilities.csv.

A small, fixed sample of 阳朔县 (Yangshuo county, 450321, Guilin, Guangxi) for
`hisbridge demo` and the end-to-end tests: about 150 people seen at one to
four of ten facilities, with the usual gaps of county data (village clinics
often without resident ids), clinical events with referrals, a facility
merge, a delete, and a few invalid lines that must be rejected with reasons.

Deterministic: the same script writes the same bytes. Standard library only.
The full synthetic-county generator is `hisbridge gen`; this file exists so
the demo has a small, reviewable input.
"""
import json
import os
import random

COUNTY = "450321"
FACILITIES = [
    ("450321-XY-001", "阳朔县人民医院", "county_hospital"),
    ("450321-ZY-001", "阳朔县中医医院", "tcm_hospital"),
    ("450321-WS-001", "白沙镇卫生院", "township_health_centre"),
    ("450321-WS-002", "高田镇卫生院", "township_health_centre"),
    ("450321-WS-003", "福利镇卫生院", "township_health_centre"),
    ("450321-WS-004", "兴坪镇卫生院", "township_health_centre"),
    ("450321-CS-011", "遇龙村卫生室", "village_clinic"),
    ("450321-CS-021", "朗梓村卫生室", "village_clinic"),
    ("450321-CS-031", "福利村卫生室", "village_clinic"),
    ("450321-CS-041", "兴坪村卫生室", "village_clinic"),
]
# Township and village of each home area: (township facility, village clinic, address).
AREAS = [
    ("450321-WS-001", "450321-CS-011", "广西壮族自治区桂林市阳朔县白沙镇遇龙村", "450321101201"),
    ("450321-WS-002", "450321-CS-021", "广西壮族自治区桂林市阳朔县高田镇朗梓村", "450321102203"),
    ("450321-WS-003", "450321-CS-031", "广西壮族自治区桂林市阳朔县福利镇福利村", "450321103201"),
    ("450321-WS-004", "450321-CS-041", "广西壮族自治区桂林市阳朔县兴坪镇兴坪村", "450321104202"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高覃韦蓝莫蒙"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国玉梅红志春"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_digit(first17):
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def resident_id(rng, birth, sex):
    # The 17th digit is odd for men and even for women.
    seq = rng.randrange(0, 5) * 2 + (1 if sex == "1" else 0)
    body = f"{COUNTY}{birth.replace('-', '')}{rng.randrange(10, 100):02d}{seq}"
    return body + check_digit(body)


def main():
    rng = random.Random(20260301)
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples")
    lines = []
    counters = {f[0]: 0 for f in FACILITIES}

    def next_record(facility):
        counters[facility] += 1
        prefix = "MZ" if "-XY-" in facility or "-ZY-" in facility else "DA" if "-WS-" in facility else "CS"
        return f"{prefix}{counters[facility]:05d}"

    def when(day, hour):
        return f"2026-03-{day:02d}T{hour:02d}:{rng.randrange(0, 60):02d}:00+08:00"

    people = []
    for i in range(150):
        sex = rng.choice("12")
        year = rng.randrange(1940, 2020)
        birth = f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        area = rng.choice(AREAS)
        people.append({
            "name": name, "sex": sex, "birth": birth, "id": resident_id(rng, birth, sex),
            "phone": f"1{rng.choice('35789')}{rng.randrange(0, 10**9):09d}", "area": area,
            "group": rng.randrange(1, 12),
        })

    events = []
    for p in people:
        township, village, address, code = p["area"]
        # Most people use their village clinic and township centre; some go to
        # the county hospitals.
        visits = [village] if rng.random() < 0.8 else []
        if rng.random() < 0.7:
            visits.append(township)
        if rng.random() < 0.45:
            visits.append(rng.choice(["450321-XY-001", "450321-XY-001", "450321-ZY-001"]))
        if not visits:
            visits.append(township)
        p["records"] = []
        for facility in visits:
            record_id = next_record(facility)
            rec = {"kind": "patient", "facility_id": facility, "record_id": record_id,
                   "event_time": when(rng.randrange(1, 10), rng.randrange(8, 18)), "name": p["name"],
                   "sex": p["sex"], "birth_date": p["birth"]}
            at_village = "-CS-" in facility
            # Village clinics often have no resident id on file.
            if not at_village or rng.random() < 0.45:
                rec["id_number"] = p["id"]
            if rng.random() < 0.8:
                phone = p["phone"]
                rec["phone"] = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}" if rng.random() < 0.3 else phone
            rec["address"] = address + f"{p['group']}组" if not at_village else f"{address[-6:]}{p['group']}组"
            if not at_village:
                rec["address_code"] = code
            lines.append(rec)
            p["records"].append((facility, record_id))
        # Clinical events: an outpatient visit at each place, observations at
        # the township centre, and a referral from village to county.
        for n, (facility, record_id) in enumerate(p["records"]):
            day = 10 + n * 3 + rng.randrange(0, 3)
            enc = {"kind": "encounter", "facility_id": facility, "record_id": record_id,
                   "encounter_id": f"E{record_id}-{n}", "event_time": when(day, 9),
                   "encounter_type": "outpatient", "department": rng.choice(["全科", "内科", "中医科", "公卫"]),
                   "diagnoses": [rng.choice([
                       {"code": "I10", "system": "ICD-10", "display": "原发性高血压"},
                       {"code": "E11.9", "system": "ICD-10", "display": "2型糖尿病"},
                       {"code": "J06.9", "system": "ICD-10", "display": "急性上呼吸道感染"},
                       {"code": "M54.5", "system": "ICD-10", "display": "下背痛"}])]}
            if "-CS-" in facility and len(p["records"]) > 1 and rng.random() < 0.5:
                enc["encounter_type"] = "referral_out"
                enc["referral_to"] = p["records"][-1][0]
            events.append(enc)
            if "-WS-" in facility or "-XY-" in facility:
                events.append({"kind": "observation", "facility_id": facility, "record_id": record_id,
                               "observation_id": f"O{record_id}-{n}", "encounter_id": enc["encounter_id"],
                               "event_time": when(day, 10), "code": "8480-6", "system": "LOINC",
                               "display": "收缩压", "value": rng.randrange(110, 175), "unit": "mmHg",
                               "abnormal_flag": "N"})
            if rng.random() < 0.3:
                events.append({"kind": "medication", "facility_id": facility, "record_id": record_id,
                               "medication_id": f"M{record_id}-{n}", "encounter_id": enc["encounter_id"],
                               "event_time": when(day, 11), "drug_code": "XC09AA02",
                               "drug_name": "马来酸依那普利片", "dose": "10mg", "route": "口服",
                               "frequency": "qd", "days": 30})

    # A township centre registered one person twice and merges the records
    # (HL7 A40 semantics); a village clinic deletes a record entered by mistake.
    dup = people[3]
    facility = dup["area"][0]
    extra = next_record(facility)
    lines.append({"kind": "patient", "facility_id": facility, "record_id": extra, "event_time": when(20, 9),
                  "name": dup["name"], "sex": dup["sex"], "birth_date": dup["birth"]})
    survivor = next((r for f, r in dup["records"] if f == facility), None)
    if survivor is None:
        survivor = next_record(facility)
        lines.append({"kind": "patient", "facility_id": facility, "record_id": survivor, "event_time": when(20, 8),
                      "name": dup["name"], "sex": dup["sex"], "birth_date": dup["birth"], "id_number": dup["id"]})
    events.append({"kind": "patient", "op": "merge", "facility_id": facility, "record_id": survivor,
                   "merged_record_id": extra, "event_time": when(21, 9)})
    mistaken = next_record("450321-CS-011")
    lines.append({"kind": "patient", "facility_id": "450321-CS-011", "record_id": mistaken,
                  "event_time": when(22, 9), "name": "测试患者", "sex": "9"})
    events.append({"kind": "patient", "op": "delete", "facility_id": "450321-CS-011", "record_id": mistaken,
                   "event_time": when(22, 10)})

    rendered = [json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in lines + events]
    # Invalid lines, each rejected with its line number, field and rule.
    bad = [
        '{"kind":"patient","facility_id":"450321-WS-001","record_id":"DA99991","event_time":"2026-03-05T08:30:00+08:00","name":"断行',
        '{"kind":"lab_result","facility_id":"450321-WS-002","record_id":"DA00001","event_time":"2026-03-05T08:30:00+08:00"}',
        '{"kind":"patient","facility_id":"450321-WS-003","event_time":"2026-03-05T08:30:00+08:00","name":"无档案号"}',
        '{"kind":"patient","facility_id":"450321-WS-004","record_id":"DA99992","event_time":"2026年3月5日","name":"时间格式错"}',
        '{"kind":"patient","op":"merge","facility_id":"450321-WS-001","record_id":"DA00001","event_time":"2026-03-05T08:30:00+08:00"}',
    ]
    for k, b in enumerate(bad):
        rendered.insert(37 + k * 61, b)
    with open(os.path.join(out_dir, "county-small.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(rendered) + "\n")
    with open(os.path.join(out_dir, "county-small.facilities.csv"), "w", encoding="utf-8") as f:
        f.write("facility_id,name,region,tier\n")
        for fid, name, tier in FACILITIES:
            f.write(f"{fid},{name},{COUNTY},{tier}\n")
    print(f"{len(rendered)} lines ({len(lines)} patient records, {len(events)} events, {len(bad)} invalid)")


if __name__ == "__main__":
    main()
