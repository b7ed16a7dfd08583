#!/usr/bin/python3
"""Offline validation of the Kubernetes manifests.

    k8s_validate_test.py HISBRIDGE_BINARY SOURCE_DIR

For the base and every overlay under k8s/overlays/:
  1. `kubectl kustomize DIR` renders it (kubectl from $KUBECTL or PATH; the
     manifests are written for kustomize v2.0.3 in kubectl 1.20 and later);
  2. every rendered object validates against the JSON schema of its kind in
     strict mode: an unknown field anywhere fails. Built-in kinds use the
     Kubernetes v1.30.0 standalone-strict schemas, Strimzi kinds the
     openAPIV3Schema of the Strimzi 0.49.1 CRDs made strict the same way
     (k8s/schemas/SOURCES.md). A kind without a schema fails;
  3. the objects fit together: references (ConfigMaps, PVCs, Services'
     selectors and target ports, HPA and PDB targets, Strimzi cluster labels,
     Secrets named in docs/operations.md) resolve, every hisbridge pod runs
     non-root with a read-only root filesystem, no capabilities, the
     RuntimeDefault seccomp profile, probes, and resource requests and limits;
  4. every `hisbridge serve` container, with the ConfigMap's hisbridge.conf,
     passes `hisbridge serve --config ... <its args> --dry-run`; the
     configuration reaches the Kafka cluster the overlay defines.
A self-check first proves that strict validation rejects an unknown field.
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

FAILURES = []


def fail(where, message):
    FAILURES.append(f"{where}: {message}")


# --------------------------------------------------------------- schemas ----

def strictify(schema):
    """Makes a CRD openAPIV3Schema strict: objects with `properties` and no
    explicit additionalProperties refuse unknown fields, unless the CRD lets
    them through (x-kubernetes-preserve-unknown-fields)."""
    if isinstance(schema, dict):
        out = {k: strictify(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        if out.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(schema, list):
        return [strictify(v) for v in schema]
    return schema


def load_schemas(schema_dir):
    schemas = {}
    object_meta = None
    for path in sorted(glob.glob(os.path.join(schema_dir, "kubernetes-*", "*.json"))):
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            api = gvk["version"] if not gvk["group"] else f'{gvk["group"]}/{gvk["version"]}'
            schemas[(api, gvk["kind"])] = schema
        if object_meta is None and "metadata" in schema.get("properties", {}):
            object_meta = schema["properties"]["metadata"]
    for path in sorted(glob.glob(os.path.join(schema_dir, "strimzi-*", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            crd = yaml.safe_load(f)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            api = f"{group}/{version['name']}"
            schema = strictify(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
            props = schema.setdefault("properties", {})
            props["apiVersion"] = {"type": "string", "enum": [api]}
            props["kind"] = {"type": "string", "enum": [kind]}
            props["metadata"] = object_meta
            schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
            schema["additionalProperties"] = False
            schemas[(api, kind)] = schema
    return schemas


def validate(obj, schemas, where):
    key = (obj.get("apiVersion"), obj.get("kind"))
    schema = schemas.get(key)
    if schema is None:
        fail(where, f"no schema for {key[1]} {key[0]}: add one to k8s/schemas (see SOURCES.md)")
        return
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
    for e in errors[:5]:
        path = "/".join(str(p) for p in e.absolute_path) or "(root)"
        fail(where, f"{path}: {e.message[:300]}")


def self_check(schemas):
    """Strict mode must catch an unknown field in a built-in and a CRD kind."""
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i", "readinessProbes": {}}]}}},
    }
    topic = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic",
             "metadata": {"name": "t"}, "spec": {"partitions": 1, "replica": 3}}
    for obj, field in ((deployment, "readinessProbes"), (topic, "replica")):
        schema = schemas[(obj["apiVersion"], obj["kind"])]
        messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        if not any(field in m for m in messages):
            sys.exit(f"self-check: strict validation of {obj['kind']} did not reject the unknown field {field}")


# ------------------------------------------------------------- rendering ----

def render(kubectl, directory):
    result = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail(directory, f"kubectl kustomize failed: {result.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(result.stdout) if d]


# ------------------------------------------------------------ coherence ----

WORKLOADS = ("Deployment", "StatefulSet")
# The Secrets the manifests reference and docs/operations.md tells operators
# to create (or that Strimzi creates).
KNOWN_SECRETS = {"hisbridge-tls", "hisbridge-at-rest-key", "hisbridge-cluster-ca-cert", "hisbridge-connector-client"}


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_coherence(objs, where, docs_text):
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    for o in objs:
        if o["kind"] != "Namespace" and o["metadata"].get("namespace") != "hisbridge":
            fail(where, f'{o["kind"]}/{o["metadata"]["name"]}: namespace is {o["metadata"].get("namespace")!r}, not hisbridge')

    workloads = [o for o in objs if o["kind"] in WORKLOADS]
    for w in workloads:
        name = f'{w["kind"]}/{w["metadata"]["name"]}'
        spec = w["spec"]
        pod = spec["template"]["spec"]
        if not selects(spec["selector"]["matchLabels"], spec["template"]["metadata"].get("labels", {})):
            fail(where, f"{name}: selector does not match its pod template")
        psc = pod.get("securityContext", {})
        if not psc.get("runAsNonRoot") or psc.get("runAsUser", 0) == 0:
            fail(where, f"{name}: pod must run as non-root (runAsNonRoot, a non-zero runAsUser)")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail(where, f"{name}: pod seccompProfile must be RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            fail(where, f"{name}: must not mount a service-account token")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claim_templates = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
        for v in volumes.values():
            if "configMap" in v and v["configMap"]["name"] not in by_kind.get("ConfigMap", {}):
                fail(where, f'{name}: volume {v["name"]} names ConfigMap {v["configMap"]["name"]}, which is not rendered')
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in by_kind.get(
                    "PersistentVolumeClaim", {}):
                fail(where, f'{name}: volume {v["name"]} names a PVC that is not rendered')
            if "secret" in v:
                secret = v["secret"]["secretName"]
                if secret not in KNOWN_SECRETS:
                    fail(where, f"{name}: Secret {secret} is not one of the documented secrets {sorted(KNOWN_SECRETS)}")
                elif secret not in docs_text:
                    fail(where, f"{name}: Secret {secret} is not described in docs/operations.md")
        for c in pod["containers"]:
            cname = f'{name} container {c["name"]}'
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(where, f"{cname}: readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(where, f"{cname}: allowPrivilegeEscalation must be false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                fail(where, f"{cname}: capabilities must drop ALL")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        fail(where, f"{cname}: resources.{part}.{r} missing")
            # A container that listens must say whether it is ready and alive;
            # one without ports (the file connector) ends on failure instead.
            if c.get("ports") and ("readinessProbe" not in c or "livenessProbe" not in c):
                fail(where, f"{cname}: needs readiness and liveness probes")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            if "/tmp" not in mounts:
                fail(where, f"{cname}: /tmp must be a volume (the root filesystem is read-only)")
            for path, vol in mounts.items():
                if vol not in volumes and vol not in claim_templates:
                    fail(where, f"{cname}: mount {path} uses undefined volume {vol}")
            ports = {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                p = c.get(probe, {})
                for kind in ("grpc", "tcpSocket", "httpGet"):
                    if kind in p and p[kind]["port"] not in ports:
                        fail(where, f"{cname}: {probe} port {p[kind]['port']} is not a container port")

    pods = [(w, w["spec"]["template"]) for w in workloads]
    for svc in by_kind.get("Service", {}).values():
        selector = svc["spec"].get("selector", {})
        matched = [w for w, t in pods if selects(selector, t["metadata"].get("labels", {}))]
        if not matched:
            fail(where, f'Service/{svc["metadata"]["name"]}: selector matches no pod template')
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for w in matched:
                names = {p.get("name") for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                numbers = {p["containerPort"] for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                if target not in names and target not in numbers:
                    fail(where, f'Service/{svc["metadata"]["name"]}: targetPort {target} is not a port of {w["metadata"]["name"]}')
    for sts in by_kind.get("StatefulSet", {}).values():
        if sts["spec"].get("serviceName") not in by_kind.get("Service", {}):
            fail(where, f'StatefulSet/{sts["metadata"]["name"]}: serviceName is not a rendered Service')
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        if not any(selects(pdb["spec"]["selector"]["matchLabels"], t["metadata"].get("labels", {})) for _, t in pods):
            fail(where, f'PodDisruptionBudget/{pdb["metadata"]["name"]}: selects no pods')
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        ref = hpa["spec"]["scaleTargetRef"]
        if ref["name"] not in by_kind.get(ref["kind"], {}):
            fail(where, f'HorizontalPodAutoscaler/{hpa["metadata"]["name"]}: target {ref["kind"]}/{ref["name"]} is not rendered')
        if hpa["spec"]["minReplicas"] > hpa["spec"]["maxReplicas"]:
            fail(where, f'HorizontalPodAutoscaler/{hpa["metadata"]["name"]}: minReplicas > maxReplicas')
        target = by_kind.get(ref["kind"], {}).get(ref["name"])
        if target is not None and "replicas" in target["spec"]:
            fail(where, f'{ref["kind"]}/{ref["name"]}: sets replicas although an HPA owns the count')
    kafkas = by_kind.get("Kafka", {})
    for kind in ("KafkaTopic", "KafkaNodePool"):
        for o in by_kind.get(kind, {}).values():
            cluster = o["metadata"].get("labels", {}).get("strimzi.io/cluster")
            if cluster not in kafkas:
                fail(where, f'{kind}/{o["metadata"]["name"]}: strimzi.io/cluster {cluster!r} is not a rendered Kafka')
    for topic in by_kind.get("KafkaTopic", {}).values():
        replicas = topic["spec"].get("replicas", 1)
        isr = int(topic["spec"].get("config", {}).get("min.insync.replicas", 1))
        nodes = sum(p["spec"]["replicas"] for p in by_kind.get("KafkaNodePool", {}).values()
                    if "broker" in p["spec"]["roles"])
        if replicas > nodes:
            fail(where, f'KafkaTopic/{topic["metadata"]["name"]}: {replicas} replicas but {nodes} brokers')
        if isr > replicas:
            fail(where, f'KafkaTopic/{topic["metadata"]["name"]}: min.insync.replicas {isr} > replicas {replicas}')
    inbox = [t for t in by_kind.get("KafkaTopic", {}).values() if t["spec"].get("topicName") == "hisbridge.inbox"]
    if len(inbox) != 1:
        fail(where, "expected exactly one KafkaTopic for hisbridge.inbox")
    else:
        cfg = inbox[0]["spec"].get("config", {})
        if str(cfg.get("retention.ms")) != "-1" or cfg.get("cleanup.policy") != "delete":
            fail(where, "the inbox (the log of truth) must be kept forever and never compacted")
    views = [t for t in by_kind.get("KafkaTopic", {}).values() if t["spec"].get("topicName") == "hisbridge.views"]
    if not views or views[0]["spec"].get("config", {}).get("cleanup.policy") != "compact":
        fail(where, "the views topic must be compacted")
    return by_kind


# ------------------------------------------------------- configuration ----

def check_configuration(by_kind, where, binary, tmp):
    configmaps = [c for c in by_kind.get("ConfigMap", {}).values() if "hisbridge.conf" in c.get("data", {})]
    if len(configmaps) != 1:
        fail(where, "expected one ConfigMap carrying hisbridge.conf")
        return
    conf_path = os.path.join(tmp, "hisbridge.conf")
    with open(conf_path, "w", encoding="utf-8") as f:
        f.write(configmaps[0]["data"]["hisbridge.conf"])
    if "facilities.csv" not in configmaps[0]["data"]:
        fail(where, "the ConfigMap must carry facilities.csv")

    checked = 0
    for w in (o for k in WORKLOADS for o in by_kind.get(k, {}).values()):
        for c in w["spec"]["template"]["spec"]["containers"]:
            args = [a.replace("$(POD_NAME)", f'{w["metadata"]["name"]}-0') for a in c.get("args", [])]
            cname = f'{w["kind"]}/{w["metadata"]["name"]} container {c["name"]}'
            if not args:
                fail(where, f"{cname}: no args")
                continue
            if args[0] != "serve":
                # Other subcommands (the connectors): every flag used must be
                # one the command knows, once the binary has the command.
                words = [a for a in args if not a.startswith("-")]
                known = subprocess.run([binary, *words, "--help"], capture_output=True, text=True, timeout=30)
                if known.returncode != 0:
                    print(f"{where}: {cname}: `hisbridge {' '.join(words)}` is not in this binary yet; flags not checked")
                    continue
                given = {a[2:].split("=", 1)[0] for a in args if a.startswith("--")}
                for flag in sorted(given):
                    if not re.search(rf"^\s+--{re.escape(flag)}\b", known.stdout, re.M):
                        fail(where, f"{cname}: hisbridge {' '.join(words)} has no flag --{flag}")
                for flag in re.findall(r"^\s+--([a-z0-9-]+)\s.*\(required\)$", known.stdout, re.M):
                    if flag not in given:
                        fail(where, f"{cname}: hisbridge {' '.join(words)} needs --{flag}")
                if "log-format" in known.stdout and "--log-format=json" not in args:
                    fail(where, f"{cname}: log-format must be json on Kubernetes")
                continue
            config_args = [a for a in args if a.startswith("--config")]
            if config_args != ["--config=/etc/hisbridge/hisbridge.conf"]:
                fail(where, f"{cname}: expected --config=/etc/hisbridge/hisbridge.conf, got {config_args}")
            mounted = any(m["mountPath"] == "/etc/hisbridge" and m["name"] == "config" for m in c["volumeMounts"])
            if not mounted:
                fail(where, f"{cname}: the ConfigMap is not mounted at /etc/hisbridge")
            local = [f"--config={conf_path}" if a.startswith("--config") else a for a in args[1:]]
            result = subprocess.run([binary, "serve", *local, "--dry-run"], capture_output=True, text=True, timeout=30)
            if result.returncode != 0:
                fail(where, f"{cname}: hisbridge serve rejects its configuration: {result.stderr.strip()}")
                continue
            checked += 1
            effective = {}
            for line in result.stdout.splitlines():
                if line and not line.startswith("#"):
                    name, _, value = line.partition("=")
                    effective.setdefault(name.strip(), []).append(value.strip())
            check_effective(effective, by_kind, where, cname, c)
    if checked == 0:
        fail(where, "no hisbridge serve container found")


def check_effective(effective, by_kind, where, cname, container):
    if effective.get("log-format") != ["json"]:
        fail(where, f"{cname}: log-format must be json on Kubernetes")
    if not effective.get("metrics-listen", [""])[0].endswith(":9090"):
        fail(where, f"{cname}: metrics-listen must be on port 9090 (the metrics port of the pod)")
    ports = {p["containerPort"] for p in container.get("ports", [])}
    grpc_port = int(effective["listen"][0].rsplit(":", 1)[1])
    if grpc_port not in ports:
        fail(where, f"{cname}: listens for gRPC on {grpc_port}, which is not a container port")
    if effective.get("data-dir") != ["/var/lib/hisbridge"] or not any(
            m["mountPath"] == "/var/lib/hisbridge" for m in container["volumeMounts"]):
        fail(where, f"{cname}: data-dir must be the /var/lib/hisbridge volume")
    bootstrap = effective.get("kafka-bootstrap", [""])[0]
    host, _, port = bootstrap.partition(":")
    kafkas = by_kind.get("Kafka", {})
    if len(kafkas) != 1:
        fail(where, "expected one Kafka")
        return
    kafka = next(iter(kafkas.values()))
    if host != f'{kafka["metadata"]["name"]}-kafka-bootstrap':
        fail(where, f"{cname}: kafka-bootstrap {bootstrap} is not the bootstrap service of Kafka {kafka['metadata']['name']}")
    listeners = {str(l["port"]): l for l in kafka["spec"]["kafka"]["listeners"]}
    if port not in listeners:
        fail(where, f"{cname}: kafka-bootstrap port {port} is not a listener of the Kafka cluster")
        return
    props = dict(p.split("=", 1) for p in effective.get("kafka-property", []) if "=" in p)
    if listeners[port].get("tls") and props.get("security.protocol") != "SSL":
        fail(where, f"{cname}: the listener on {port} is TLS but security.protocol is not SSL")
    if props.get("ssl.ca.location"):
        ca_dir = os.path.dirname(props["ssl.ca.location"])
        if not any(m["mountPath"] == ca_dir for m in container["volumeMounts"]):
            fail(where, f"{cname}: ssl.ca.location {props['ssl.ca.location']} is not on a mounted volume")


def main():
    binary, source = sys.argv[1], sys.argv[2]
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        sys.exit("kubectl not found (Debian package kubernetes-client; scripts/setup.sh installs it)")
    version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.strip()
    schemas = load_schemas(os.path.join(source, "k8s", "schemas"))
    self_check(schemas)
    with open(os.path.join(source, "docs", "operations.md"), encoding="utf-8") as f:
        docs_text = f.read()

    directories = [os.path.join(source, "k8s", "base")] + sorted(
        glob.glob(os.path.join(source, "k8s", "overlays", "*")))
    summary = []
    for directory in directories:
        where = os.path.relpath(directory, source)
        objs = render(kubectl, directory)
        if not objs:
            continue
        for o in objs:
            validate(o, schemas, f'{where} {o.get("kind")}/{o.get("metadata", {}).get("name")}')
        by_kind = check_coherence(objs, where, docs_text)
        with tempfile.TemporaryDirectory() as tmp:
            check_configuration(by_kind, where, binary, tmp)
        summary.append(f"{where}: {len(objs)} objects")

    if FAILURES:
        print("\n".join(FAILURES))
        sys.exit(1)
    print(f"kubectl: {version.splitlines()[0] if version else '?'}")
    print("rendered and strictly validated: " + "; ".join(summary))


if __name__ == "__main__":
    main()
