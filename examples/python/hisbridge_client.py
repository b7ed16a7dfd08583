#!/usr/bin/python3
"""A small hisbridge client using Debian's python3-grpcio.

Generates Python stubs from the repository's proto/ files (protoc with
Debian's grpc_python_plugin), then talks to a running hisbridge:

  demo      submit two clinics' records of one villager (with a referral
            between them) and a stranger, then look up, match and show
            the villager's integrated view
  lookup    find the unified patient of a clinic's record
  show      print a unified patient (demographics, provenance, sources)
  match     rank the patients that match some demographics (FHIR $match
            grades: certain, probable, possible, certainly-not)
  search    find patients by resident id, phone, name (+ birth date or
            year) or village, page by page
  timeline  print a patient's integrated view: every facility's encounters,
            observations and medications as one timeline, and the
            referral chain

Usage:
  /usr/bin/python3 examples/python/hisbridge_client.py --target 127.0.0.1:7070 demo
  ... lookup FACILITY RECORD
  ... show PATIENT_ID
  ... match --name 覃秀娟 --birth-date 1972-06-15 [--id-number ID] [--phone P] [--limit N]
  ... search --name 李娜 --birth-date 1990 [--page-size 20]
  ... timeline PATIENT_ID [--from 2026-03-01T00:00:00+08:00] [--to ...] [--kinds encounter,medication]

Every call has a deadline (--deadline, seconds). Errors are printed with
their gRPC status code and the server's message, which names the field.
Debian's python3-grpcio and python3-protobuf import only under /usr/bin/python3.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "proto")

GRADES = {1: "certain", 2: "probable", 3: "possible", 4: "certainly-not"}


def load_stubs(stubs_dir):
    """Generates the stubs into stubs_dir (once) and imports them."""
    marker = os.path.join(stubs_dir, "hisbridge", "v1", "query_pb2_grpc.py")
    if not os.path.exists(marker):
        os.makedirs(stubs_dir, exist_ok=True)
        protos = []
        for dirpath, _, files in os.walk(os.path.join(PROTO_ROOT, "hisbridge")):
            protos += [os.path.join(dirpath, f) for f in files if f.endswith(".proto")]
        subprocess.run(["protoc", f"--proto_path={PROTO_ROOT}", f"--python_out={stubs_dir}",
                        f"--grpc_out={stubs_dir}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin"]
                       + sorted(protos), check=True)
    sys.path.insert(0, stubs_dir)
    import grpc  # noqa: E402
    from hisbridge.v1 import ingest_pb2, ingest_pb2_grpc, patient_pb2, query_pb2, query_pb2_grpc, records_pb2  # noqa: E402
    return grpc, ingest_pb2, ingest_pb2_grpc, patient_pb2, query_pb2, query_pb2_grpc, records_pb2


def print_patient(p, events=True):
    d = p.demographics
    print(f"{p.patient_id} (version {p.version}): {d.name} sex={d.sex} born={d.birth_date} id={d.id_number}")
    for f in p.provenance:
        print(f"  {f.field:<12} {f.value:<20} from {f.facility_id}/{f.record_id} ({f.rule})")
    for s in p.sources:
        print(f"  known at {s.facility_id} as {s.record_id} ({s.demographics.name})")
    if events:
        for e in p.events:
            print(f"  {e.event_time}  {e.facility_id}  {e.kind} {e.event_id}")


def print_candidates(response):
    print(f"model {response.model_version}: {len(response.candidates)} candidate(s)")
    for i, c in enumerate(response.candidates, 1):
        d = c.patient.demographics
        print(f"{i}. {c.patient.patient_id} {GRADES.get(c.grade, c.grade)} score={c.score:.1f}: "
              f"{d.name} born={d.birth_date} id={d.id_number}")
        for f in c.explanation.fields:
            print(f"     {f.field:<12} {f.level:<22} {f.weight:+6.1f}  {f.left} | {f.right}")
        if c.explanation.rules:
            print(f"     rules: {', '.join(c.explanation.rules)}")


def describe_event(e):
    r = e.record
    if e.kind == "encounter":
        dx = ", ".join(f"{d.code} {d.display}".strip() for d in r.diagnoses)
        what = f"{r.encounter_type} {r.department}".strip()
        return f"{what}{': ' + dx if dx else ''}"
    if e.kind == "observation":
        value = r.value.string_value if r.value.HasField("string_value") else f"{r.value.number_value:g}"
        return f"{r.display or r.code} {value} {r.unit} {r.abnormal_flag}".strip()
    if e.kind == "medication":
        return f"{r.drug_name or r.drug_code} {r.dose} {r.frequency} {r.days or ''}".strip()
    return e.kind


def print_view(view):
    print_patient(view.patient, events=False)
    print(f"timeline ({len(view.timeline)} events):")
    for t in view.timeline:
        e = t.event
        print(f"  {e.event_time}  {t.facility_name or e.facility_id}  {e.kind:<11} {describe_event(e)}")
    if view.referrals:
        print("referral chain:")
        for r in view.referrals:
            print(f"  {r.time}  {r.from_facility_name or r.from_facility_id} -> "
                  f"{r.to_facility_name or r.to_facility_id} (encounter {r.encounter_id})")


def demographics_from(args, patient_pb2):
    return patient_pb2.Demographics(name=args.name or "", birth_date=args.birth_date or "",
                                    id_number=args.id_number or "", phone=args.phone or "", sex=args.sex or "",
                                    address=args.address or "")


def run_demo(stubs, ingest, query, deadline):
    grpc, ingest_pb2, _, patient_pb2, query_pb2, _, records_pb2 = stubs
    # One villager at a village clinic, referred to the township centre, and a stranger.
    dx = [records_pb2.Diagnosis(code="I10", system="ICD-10", display="原发性高血压")]
    records = [
        records_pb2.Record(kind="patient", facility_id="450321-CS-011", record_id="PY-CS-1",
                           event_time="2026-03-01T08:30:00+08:00", name="覃秀娟", sex="2",
                           birth_date="1972-06-15", id_number="450321197206150025", phone="13977318642"),
        records_pb2.Record(kind="encounter", facility_id="450321-CS-011", record_id="PY-CS-1",
                           encounter_id="PY-E0", event_time="2026-03-01T08:40:00+08:00",
                           encounter_type="referral_out", referral_to="450321-WS-001", diagnoses=dx),
        records_pb2.Record(kind="patient", facility_id="450321-WS-001", record_id="PY-WS-9",
                           event_time="2026-03-02T10:00:00+08:00", name="覃秀娟", sex="2",
                           birth_date="1972-06-15", id_number="450321197206150025"),
        records_pb2.Record(kind="encounter", facility_id="450321-WS-001", record_id="PY-WS-9",
                           encounter_id="PY-E1", event_time="2026-03-02T10:10:00+08:00",
                           encounter_type="referral_in", referral_from="450321-CS-011", department="全科",
                           diagnoses=dx),
        records_pb2.Record(kind="medication", facility_id="450321-WS-001", record_id="PY-WS-9",
                           medication_id="PY-M1", event_time="2026-03-02T10:30:00+08:00",
                           drug_name="氨氯地平片", dose="5mg", frequency="qd", days=30),
        records_pb2.Record(kind="patient", facility_id="450321-WS-001", record_id="PY-WS-10",
                           event_time="2026-03-02T11:00:00+08:00", name="蒙志强", sex="1",
                           birth_date="1990-01-09", id_number="450321199001090013"),
    ]
    response = ingest.Submit(ingest_pb2.SubmitRequest(records=records), timeout=deadline)
    print(f"submitted: {response.accepted} accepted, {response.rejected} rejected")
    for r in response.results:
        if r.outcome != ingest_pb2.RECORD_OUTCOME_ACCEPTED:
            print(f"  record {r.index}: {[e.message for e in r.errors]}")
    # Read-your-writes: wait until this replica reflects the submit.
    consistency = query_pb2.ReadConsistency(after=response.positions)
    a = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id="450321-CS-011", record_id="PY-CS-1",
                                                             consistency=consistency), timeout=deadline)
    b = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id="450321-WS-001", record_id="PY-WS-9"),
                             timeout=deadline)
    c = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id="450321-WS-001", record_id="PY-WS-10"),
                             timeout=deadline)
    print_patient(query.GetPatient(query_pb2.GetPatientRequest(patient_id=a.patient_id), timeout=deadline))
    same = a.patient_id == b.patient_id and a.patient_id != c.patient_id
    print("the two clinics' records are one patient; the stranger is another" if same
          else "UNEXPECTED linking result")

    print("\nmatch 覃秀娟 born 1972-06-15 (no id):")
    matched = query.Match(query_pb2.MatchRequest(
        demographics=patient_pb2.Demographics(name="覃秀娟", birth_date="1972-06-15", sex="2"), limit=5),
        timeout=deadline)
    print_candidates(matched)
    found = bool(matched.candidates) and matched.candidates[0].patient.patient_id == a.patient_id

    print("\nintegrated view:")
    view = query.GetIntegratedView(query_pb2.GetIntegratedViewRequest(patient_id=a.patient_id), timeout=deadline)
    print_view(view)
    return 0 if same and found and response.accepted == len(records) and view.referrals else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="127.0.0.1:7070", help="hisbridge gRPC address")
    parser.add_argument("--stubs-dir", default=None, help="where to generate the Python stubs")
    parser.add_argument("--deadline", type=float, default=10.0, help="deadline of every call, in seconds")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="submit a sample villager, then look up, match and show her")
    lookup = commands.add_parser("lookup", help="the unified patient of a clinic's record")
    lookup.add_argument("facility")
    lookup.add_argument("record")
    show = commands.add_parser("show", help="a unified patient")
    show.add_argument("patient_id")
    match = commands.add_parser("match", help="ranked candidates for some demographics")
    search = commands.add_parser("search", help="patients by id, phone, name (+ birth date) or village")
    for p in (match, search):
        p.add_argument("--name")
        p.add_argument("--birth-date", help="YYYY-MM-DD (search: or YYYY)")
        p.add_argument("--id-number")
        p.add_argument("--phone")
    match.add_argument("--sex", help="GB/T 2261.1 code: 1 male, 2 female")
    match.add_argument("--address")
    match.add_argument("--region", default="", help="only this county code")
    match.add_argument("--limit", type=int, default=10)
    search.add_argument("--village", help="12-digit village code or village name")
    search.add_argument("--page-size", type=int, default=20)
    search.add_argument("--max-pages", type=int, default=5)
    timeline = commands.add_parser("timeline", help="a patient's integrated view")
    timeline.add_argument("patient_id")
    timeline.add_argument("--from", dest="from_time", default="", help="RFC 3339, inclusive")
    timeline.add_argument("--to", default="", help="RFC 3339, inclusive")
    timeline.add_argument("--kinds", default="", help="comma-separated: encounter,observation,medication")
    args = parser.parse_args()

    stubs_dir = args.stubs_dir or tempfile.mkdtemp(prefix="hisbridge-stubs-")
    stubs = load_stubs(stubs_dir)
    grpc, _, ingest_grpc, patient_pb2, query_pb2, query_grpc, _ = stubs
    channel = grpc.insecure_channel(args.target)
    ingest = ingest_grpc.IngestServiceStub(channel)
    query = query_grpc.QueryServiceStub(channel)
    deadline = args.deadline
    try:
        if args.command == "demo":
            return run_demo(stubs, ingest, query, deadline)
        if args.command == "lookup":
            print_patient(query.LookupBySource(query_pb2.LookupBySourceRequest(
                facility_id=args.facility, record_id=args.record), timeout=deadline))
        elif args.command == "show":
            print_patient(query.GetPatient(query_pb2.GetPatientRequest(patient_id=args.patient_id), timeout=deadline))
        elif args.command == "match":
            print_candidates(query.Match(query_pb2.MatchRequest(
                demographics=demographics_from(args, patient_pb2), limit=args.limit, region=args.region),
                timeout=deadline))
        elif args.command == "search":
            request = query_pb2.SearchPatientsRequest(
                id_number=args.id_number or "", phone=args.phone or "", name=args.name or "",
                birth_date=args.birth_date or "", village=args.village or "", page_size=args.page_size)
            for page in range(1, args.max_pages + 1):
                response = query.SearchPatients(request, timeout=deadline)
                print(f"page {page}: {len(response.patients)} patient(s)")
                for p in response.patients:
                    d = p.demographics
                    print(f"  {p.patient_id}  {d.name}  born={d.birth_date}  id={d.id_number}  "
                          f"sources={len(p.sources)}")
                if not response.next_page_token:
                    break
                request.page_token = response.next_page_token
        elif args.command == "timeline":
            kinds = [k for k in args.kinds.split(",") if k]
            print_view(query.GetIntegratedView(query_pb2.GetIntegratedViewRequest(
                patient_id=args.patient_id, to=args.to, kinds=kinds, **{"from": args.from_time}),
                timeout=deadline))
    except grpc.RpcError as e:
        print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
