#!/usr/bin/python3
"""A small hisbridge client using Debian's python3-grpcio.

Generates Python stubs from the repository's proto/ files (protoc with
Debian's grpc_python_plugin), then talks to a running hisbridge:

  submit   send two clinics' records of one villager, and one of a stranger
  lookup   find the unified patient of a clinic's record (read-your-writes)
  show     print a patient's integrated cross-facility view

Usage:
  /usr/bin/python3 examples/python/hisbridge_client.py --target 127.0.0.1:7070 demo
  /usr/bin/python3 examples/python/hisbridge_client.py --target HOST:PORT lookup FACILITY RECORD
  /usr/bin/python3 examples/python/hisbridge_client.py --target HOST:PORT show PATIENT_ID

Debian's python3-grpcio and python3-protobuf import only under /usr/bin/python3.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "proto")
DEADLINE_SECONDS = 10


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
    from hisbridge.v1 import ingest_pb2, ingest_pb2_grpc, query_pb2, query_pb2_grpc, records_pb2  # noqa: E402
    return grpc, ingest_pb2, ingest_pb2_grpc, query_pb2, query_pb2_grpc, records_pb2


def print_patient(p):
    d = p.demographics
    print(f"{p.patient_id} (version {p.version}): {d.name} sex={d.sex} born={d.birth_date} id={d.id_number}")
    for s in p.sources:
        print(f"  known at {s.facility_id} as {s.record_id} ({s.demographics.name})")
    for e in p.events:
        print(f"  {e.event_time}  {e.facility_id}  {e.kind} {e.event_id}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="127.0.0.1:7070", help="hisbridge gRPC address")
    parser.add_argument("--stubs-dir", default=None, help="where to generate the Python stubs")
    parser.add_argument("command", choices=["demo", "lookup", "show"])
    parser.add_argument("args", nargs="*")
    args = parser.parse_args()
    stubs_dir = args.stubs_dir or tempfile.mkdtemp(prefix="hisbridge-stubs-")
    grpc, ingest_pb2, ingest_grpc, query_pb2, query_grpc, records_pb2 = load_stubs(stubs_dir)
    channel = grpc.insecure_channel(args.target)
    ingest = ingest_grpc.IngestServiceStub(channel)
    query = query_grpc.QueryServiceStub(channel)

    if args.command == "lookup":
        facility, record = args.args
        p = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id=facility, record_id=record),
                                 timeout=DEADLINE_SECONDS)
        print_patient(p)
        return 0
    if args.command == "show":
        print_patient(query.GetPatient(query_pb2.GetPatientRequest(patient_id=args.args[0]), timeout=DEADLINE_SECONDS))
        return 0

    # demo: one villager at a village clinic and a township centre, plus a stranger.
    records = [
        records_pb2.Record(kind="patient", facility_id="450321-CS-011", record_id="PY-CS-1",
                           event_time="2026-03-01T08:30:00+08:00", name="覃秀娟", sex="2",
                           birth_date="1972-06-15", id_number="450321197206150025", phone="13977312345"),
        records_pb2.Record(kind="patient", facility_id="450321-WS-001", record_id="PY-WS-9",
                           event_time="2026-03-02T10:00:00+08:00", name="覃秀娟", sex="2",
                           birth_date="1972-06-15", id_number="450321197206150025"),
        records_pb2.Record(kind="encounter", facility_id="450321-WS-001", record_id="PY-WS-9",
                           encounter_id="PY-E1", event_time="2026-03-02T10:10:00+08:00",
                           encounter_type="outpatient", department="全科",
                           diagnoses=[records_pb2.Diagnosis(code="I10", system="ICD-10", display="原发性高血压")]),
        records_pb2.Record(kind="patient", facility_id="450321-WS-001", record_id="PY-WS-10",
                           event_time="2026-03-02T11:00:00+08:00", name="蒙志强", sex="1",
                           birth_date="1990-01-09", id_number="450321199001090013"),
    ]
    response = ingest.Submit(ingest_pb2.SubmitRequest(records=records), timeout=DEADLINE_SECONDS)
    print(f"submitted: {response.accepted} accepted, {response.rejected} rejected")
    for r in response.results:
        if r.outcome != ingest_pb2.RECORD_OUTCOME_ACCEPTED:
            print(f"  record {r.index}: {[e.message for e in r.errors]}")
    consistency = query_pb2.ReadConsistency(after=response.positions)
    a = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id="450321-CS-011", record_id="PY-CS-1",
                                                             consistency=consistency), timeout=DEADLINE_SECONDS)
    b = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id="450321-WS-001", record_id="PY-WS-9"),
                             timeout=DEADLINE_SECONDS)
    c = query.LookupBySource(query_pb2.LookupBySourceRequest(facility_id="450321-WS-001", record_id="PY-WS-10"),
                             timeout=DEADLINE_SECONDS)
    print_patient(query.GetPatient(query_pb2.GetPatientRequest(patient_id=a.patient_id), timeout=DEADLINE_SECONDS))
    same = a.patient_id == b.patient_id and a.patient_id != c.patient_id
    print("the two clinics' records are one patient; the stranger is another" if same
          else "UNEXPECTED linking result")
    return 0 if same and response.accepted == 4 else 1


if __name__ == "__main__":
    sys.exit(main())
