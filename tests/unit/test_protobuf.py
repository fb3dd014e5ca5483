"""The Kubernetes protobuf wire format (shim.machinery.protobuf).

Two directions per object: ``decode(encode(obj)) == obj``, and ``decode`` of bytes built independently
-- messages filled field by field with dynamic classes from the descriptor set (proto field names, not
JSON names), then completed the way gogo-generated Go marshallers complete them (:func:`gogo_fill`:
every non-pointer field is written even when empty) -- equals the JSON dict Go's encoding/json would
have produced for the object. A ``go``-marked test checks the same against bytes and JSON from real Go.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from harness import require_tool
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor

from shim.machinery import protobuf as pb
from shim.machinery.errors import StatusError
from shim.machinery.protobuf import _codec, _types

PKG_DIR = Path(pb.__file__).parent
CORE = "k8s.io.api.core.v1"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"
APIEXT = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1"

T0 = 1714979289  # 2024-05-06T07:08:09Z


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- an independent view of the descriptor set, and gogo's marshalling habits --------------------------
_POOL = descriptor_pool.DescriptorPool()
for _f in descriptor_pb2.FileDescriptorSet.FromString((PKG_DIR / "k8s-v0.34.1.desc").read_bytes()).file:
    _POOL.AddSerializedFile(_f.SerializeToString())
_FACTS = json.loads((PKG_DIR / "k8s-v0.34.1.fields.json").read_text())["fields"]


def new(full_name: str):
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))()


def body(api_version: str, kind: str, msg) -> bytes:
    """``k8s\\0`` + runtime.Unknown as Go writes it (empty contentEncoding/contentType included)."""
    unk = new("k8s.io.apimachinery.pkg.runtime.Unknown")
    unk.typeMeta.apiVersion = api_version
    unk.typeMeta.kind = kind
    unk.raw = msg.SerializeToString()
    unk.contentEncoding = ""
    unk.contentType = ""
    return b"k8s\x00" + unk.SerializeToString()


def gogo_fill(msg) -> None:
    """Write every non-pointer field of a present message, as gogo's generated Marshal does:
    scalars as their zero value, structs as (recursively filled) messages, a zero Time as an empty
    message, a zero Quantity as "0". Pointer fields, bytes, lists and maps are left as they are."""
    name = msg.DESCRIPTOR.full_name
    if name.endswith((".Time", ".MicroTime")) and name.startswith(META):
        if msg.ListFields():
            msg.nanos = msg.nanos  # Timestamp writes both fields
        return
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        if not msg.HasField("string"):
            msg.string = "0"
        return
    facts = _FACTS.get(name, {})
    for fd in msg.DESCRIPTOR.fields:
        value = getattr(msg, fd.name)
        if fd.is_repeated:
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                if fd.message_type.GetOptions().map_entry:
                    if fd.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                        for v in value.values():
                            gogo_fill(v)
                else:
                    for v in value:
                        gogo_fill(v)
            continue
        pointer = facts.get(fd.name, {}).get("ptr")
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if msg.HasField(fd.name) or not pointer:
                value.SetInParent()
                gogo_fill(value)
        elif fd.type != FieldDescriptor.TYPE_BYTES and not pointer and not msg.HasField(fd.name):
            setattr(msg, fd.name, value)  # explicit zero: present on the wire


def go_body(api_version: str, kind: str, msg) -> bytes:
    gogo_fill(msg)
    return body(api_version, kind, msg)


# -- the objects, in the JSON form Go's encoding/json gives them ---------------------------------------
POD = {
    "kind": "Pod", "apiVersion": "v1",
    "metadata": {
        "name": "wf-n0-0", "namespace": "flytesnacks-development", "uid": "3f2a6b1e", "resourceVersion": "12",
        "creationTimestamp": "2024-05-06T07:08:09Z",
        "labels": {"node-id": "n0", "project": "flytesnacks"},
        "annotations": {"primary_container_name": "wf-n0-0"},
        "ownerReferences": [{"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow", "name": "wf",
                             "uid": "7d9e1f2a", "controller": True, "blockOwnerDeletion": True}],
    },
    "spec": {
        "containers": [{
            "name": "main", "image": "flytekit:1.16", "args": ["pyflyte-execute", "--inputs", "s3://x"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "FLYTE_INTERNAL_EXECUTION_ID", "value": "wf"},
                    {"name": "EMPTY"},  # Go omits the empty value
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "512Mi"}},
            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
            "readinessProbe": {"tcpSocket": {"port": 8080}},
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {},
        }],
        "volumes": [{"name": "scratch", "emptyDir": {}},
                    {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a.txt"}],
                                                  "defaultMode": 420}}],
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "serviceAccountName": "default",
        "enableServiceLinks": False,
    },
    "status": {
        "phase": "Running",
        "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                               "ready": False, "restartCount": 0, "image": "flytekit:1.16", "imageID": ""}],
    },
}


def go_pod():
    m = new(f"{CORE}.Pod")
    md = m.metadata
    md.name, md.namespace, md.uid, md.resourceVersion = "wf-n0-0", "flytesnacks-development", "3f2a6b1e", "12"
    md.creationTimestamp.seconds = T0
    md.labels.update({"node-id": "n0", "project": "flytesnacks"})
    md.annotations["primary_container_name"] = "wf-n0-0"
    o = md.ownerReferences.add()
    o.apiVersion, o.kind, o.name, o.uid = "flyte.lyft.com/v1alpha1", "FlyteWorkflow", "wf", "7d9e1f2a"
    o.controller = o.blockOwnerDeletion = True
    c = m.spec.containers.add()
    c.name, c.image = "main", "flytekit:1.16"
    c.args.extend(["pyflyte-execute", "--inputs", "s3://x"])
    p = c.ports.add()
    p.name, p.containerPort, p.protocol = "http", 8080, "TCP"
    e = c.env.add()
    e.name, e.value = "FLYTE_INTERNAL_EXECUTION_ID", "wf"
    c.env.add().name = "EMPTY"
    e = c.env.add()
    e.name = "POD_NAME"
    e.valueFrom.fieldRef.apiVersion, e.valueFrom.fieldRef.fieldPath = "v1", "metadata.name"
    c.resources.limits["cpu"].string = "500m"
    c.resources.limits["memory"].string = "1Gi"
    c.resources.requests["cpu"].string = "250m"
    c.resources.requests["memory"].string = "512Mi"
    vm = c.volumeMounts.add()
    vm.name, vm.mountPath = "scratch", "/scratch"
    c.livenessProbe.handler.httpGet.path = "/healthz"
    c.livenessProbe.handler.httpGet.port.type = 1
    c.livenessProbe.handler.httpGet.port.strVal = "http"
    c.livenessProbe.periodSeconds = 5
    c.readinessProbe.handler.tcpSocket.port.intVal = 8080
    c.terminationMessagePolicy, c.imagePullPolicy = "FallbackToLogsOnError", "IfNotPresent"
    c.securityContext.SetInParent()
    v = m.spec.volumes.add()
    v.name = "scratch"
    v.volumeSource.emptyDir.SetInParent()
    v = m.spec.volumes.add()
    v.name = "cfg"
    v.volumeSource.configMap.localObjectReference.name = "cfg"
    it = v.volumeSource.configMap.items.add()
    it.key, it.path = "a", "a.txt"
    v.volumeSource.configMap.defaultMode = 420
    m.spec.restartPolicy, m.spec.serviceAccountName = "Never", "default"
    m.spec.terminationGracePeriodSeconds = 0
    m.spec.enableServiceLinks = False
    m.status.phase = "Running"
    cs = m.status.containerStatuses.add()
    cs.name, cs.image = "main", "flytekit:1.16"
    cs.state.terminated.exitCode = 0
    cs.state.terminated.reason = "Completed"
    return m


LEASE = {
    "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
    "metadata": {"name": "propeller-leader", "namespace": "flyte"},
    "spec": {"holderIdentity": "propeller-1", "leaseDurationSeconds": 15,
             "acquireTime": "2024-05-06T07:08:09.123456Z", "renewTime": "2024-05-06T07:08:19.000001Z",
             "leaseTransitions": 0},
}


def go_lease():
    m = new("k8s.io.api.coordination.v1.Lease")
    m.metadata.name, m.metadata.namespace = "propeller-leader", "flyte"
    m.spec.holderIdentity, m.spec.leaseDurationSeconds, m.spec.leaseTransitions = "propeller-1", 15, 0
    m.spec.acquireTime.seconds, m.spec.acquireTime.nanos = T0, 123456000
    m.spec.renewTime.seconds, m.spec.renewTime.nanos = T0 + 10, 1000
    return m


SECRET = {
    "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "creds", "namespace": "flyte"},
    "data": {"token": b64(b"\x00\xffs3cr3t"), "empty": ""}, "type": "Opaque",
}


def go_secret():
    m = new(f"{CORE}.Secret")
    m.metadata.name, m.metadata.namespace = "creds", "flyte"
    m.data["token"] = b"\x00\xffs3cr3t"
    m.data["empty"] = b""
    m.type = "Opaque"
    return m


CONFIGMAP = {
    "kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg", "namespace": "flyte"},
    "data": {"a": "1", "blank": ""}, "binaryData": {"blob": b64(bytes(range(8)))},
}


def go_configmap():
    m = new(f"{CORE}.ConfigMap")
    m.metadata.name, m.metadata.namespace = "cfg", "flyte"
    m.data.update({"a": "1", "blank": ""})
    m.binaryData["blob"] = bytes(range(8))
    return m


EVENT = {
    "kind": "Event", "apiVersion": "v1",
    "metadata": {"name": "wf-n0-0.17a", "namespace": "ns"},
    "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "wf-n0-0", "uid": "u1", "apiVersion": "v1",
                       "resourceVersion": "12"},
    "reason": "Started", "message": "Started container main",
    "source": {"component": "kubelet", "host": "local"},
    "firstTimestamp": "2024-05-06T07:08:09Z", "lastTimestamp": "2024-05-06T07:08:10Z",
    "count": 1, "type": "Normal", "eventTime": "2024-05-06T07:08:09.500000Z",
    "reportingComponent": "", "reportingInstance": "",
}


def go_event():
    m = new(f"{CORE}.Event")
    m.metadata.name, m.metadata.namespace = "wf-n0-0.17a", "ns"
    io = m.involvedObject
    io.kind, io.namespace, io.name, io.uid, io.apiVersion, io.resourceVersion = "Pod", "ns", "wf-n0-0", "u1", "v1", "12"
    m.reason, m.message = "Started", "Started container main"
    m.source.component, m.source.host = "kubelet", "local"
    m.firstTimestamp.seconds, m.lastTimestamp.seconds = T0, T0 + 1
    m.count, m.type = 1, "Normal"
    m.eventTime.seconds, m.eventTime.nanos = T0, 500_000_000
    return m


CRD = {
    "kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
    "metadata": {"name": "flyteworkflows.flyte.lyft.com"},
    "spec": {
        "group": "flyte.lyft.com",
        "names": {"plural": "flyteworkflows", "singular": "flyteworkflow", "shortNames": ["fly"],
                  "kind": "FlyteWorkflow", "listKind": "FlyteWorkflowList"},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object", "required": ["spec"], "x-kubernetes-preserve-unknown-fields": True,
                "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "default": {"a": 1}},
                    "replicas": {"type": "integer", "maximum": 2.5, "minimum": 0},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "closed": {"type": "object", "additionalProperties": False},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]},
                             "x-kubernetes-list-type": "set"},
                    "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
                },
            }},
            "subresources": {"status": {}},
            "additionalPrinterColumns": [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
        }],
    },
    # what Go writes for an unset status: the non-omitempty names with their empty strings
    "status": {"acceptedNames": {"plural": "", "kind": ""}},
}


def go_crd():
    m = new(f"{APIEXT}.CustomResourceDefinition")
    m.metadata.name = "flyteworkflows.flyte.lyft.com"
    s = m.spec
    s.group, s.scope = "flyte.lyft.com", "Namespaced"
    n = s.names
    n.plural, n.singular, n.kind, n.listKind = "flyteworkflows", "flyteworkflow", "FlyteWorkflow", "FlyteWorkflowList"
    n.shortNames.append("fly")
    v = s.versions.add()
    v.name, v.served, v.storage = "v1alpha1", True, True
    root = v.schema.openAPIV3Schema
    root.type = "object"
    root.required.append("spec")
    root.xKubernetesPreserveUnknownFields = True
    spec = root.properties["spec"]
    spec.type, spec.xKubernetesPreserveUnknownFields = "object", True
    spec.default.raw = b'{"a":1}'
    rep = root.properties["replicas"]
    rep.type, rep.maximum, rep.minimum = "integer", 2.5, 0.0
    labels = root.properties["labels"]
    labels.type = "object"
    labels.additionalProperties.allows = True
    labels.additionalProperties.schema.type = "string"
    closed = root.properties["closed"]
    closed.type = "object"
    closed.additionalProperties.allows = False
    tags = root.properties["tags"]
    tags.type, tags.xKubernetesListType = "array", "set"
    tags.items.schema.type = "string"
    tags.items.schema.enum.add().raw = b'"a"'
    tags.items.schema.enum.add().raw = b'"b"'
    port = root.properties["port"]
    port.anyOf.add().type = "integer"
    port.anyOf.add().type = "string"
    port.xKubernetesIntOrString = True
    v.subresources.status.SetInParent()
    col = v.additionalPrinterColumns.add()
    col.name, col.type, col.jsonPath = "Age", "date", ".metadata.creationTimestamp"
    return m


MWC = {
    "kind": "MutatingWebhookConfiguration", "apiVersion": "admissionregistration.k8s.io/v1",
    "metadata": {"name": "flyte-pod-webhook"},
    "webhooks": [{
        "name": "flyte-pod-webhook.flyte.org",
        "clientConfig": {"service": {"namespace": "flyte", "name": "flyte-pod-webhook", "path": "/mutate--v1-pod",
                                     "port": 443},
                         "caBundle": b64(b"-----BEGIN CERTIFICATE-----\n")},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                   "scope": "*"}],
        "failurePolicy": "Fail", "matchPolicy": "Equivalent",
        "namespaceSelector": {}, "objectSelector": {"matchLabels": {"inject-flyte-secrets": "true"}},
        "sideEffects": "None", "timeoutSeconds": 10, "admissionReviewVersions": ["v1", "v1beta1"],
        "reinvocationPolicy": "Never",
    }],
}


def go_mwc():
    m = new("k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration")
    m.metadata.name = "flyte-pod-webhook"
    w = m.Webhooks.add()  # the proto field name is capitalised; JSON says "webhooks"
    w.name = "flyte-pod-webhook.flyte.org"
    svc = w.clientConfig.service
    svc.namespace, svc.name, svc.path, svc.port = "flyte", "flyte-pod-webhook", "/mutate--v1-pod", 443
    w.clientConfig.caBundle = b"-----BEGIN CERTIFICATE-----\n"
    r = w.rules.add()
    r.operations.append("CREATE")
    r.rule.apiGroups.append("")
    r.rule.apiVersions.append("v1")
    r.rule.resources.append("pods")
    r.rule.scope = "*"
    w.failurePolicy, w.matchPolicy, w.sideEffects, w.reinvocationPolicy = "Fail", "Equivalent", "None", "Never"
    w.namespaceSelector.SetInParent()
    w.objectSelector.matchLabels["inject-flyte-secrets"] = "true"
    w.timeoutSeconds = 10
    w.admissionReviewVersions.extend(["v1", "v1beta1"])
    return m


DELETE_OPTIONS = {
    "kind": "DeleteOptions", "apiVersion": "coordination.k8s.io/v1",
    "gracePeriodSeconds": 0, "preconditions": {"uid": "abc"}, "propagationPolicy": "Background",
}


def go_delete_options():
    m = new(f"{META}.DeleteOptions")
    m.gracePeriodSeconds = 0
    m.preconditions.uid = "abc"
    m.propagationPolicy = "Background"
    return m


CASES = {
    "pod": (POD, go_pod),
    "lease": (LEASE, go_lease),
    "secret": (SECRET, go_secret),
    "configmap": (CONFIGMAP, go_configmap),
    "event": (EVENT, go_event),
    "crd": (CRD, go_crd),
    "mutatingwebhookconfiguration": (MWC, go_mwc),
    "deleteoptions": (DELETE_OPTIONS, go_delete_options),
}


# -- whole objects ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_object_round_trips_through_protobuf(case):
    obj, _ = CASES[case]
    assert pb.decode(pb.encode(obj)) == obj


@pytest.mark.parametrize("case", CASES)
def test_go_written_bytes_decode_to_go_json(case):
    obj, build = CASES[case]
    assert pb.decode(go_body(obj["apiVersion"], obj["kind"], build())) == obj


@pytest.mark.parametrize("case", CASES)
def test_encoded_bytes_are_the_object_message(case):
    obj, build = CASES[case]
    data = pb.encode(obj)
    assert data[:4] == b"k8s\x00"
    unk = new("k8s.io.apimachinery.pkg.runtime.Unknown")
    unk.ParseFromString(data[4:])
    assert (unk.typeMeta.apiVersion, unk.typeMeta.kind) == (obj["apiVersion"], obj["kind"])
    expected = build()
    got = type(expected)()
    got.ParseFromString(unk.raw)
    gogo_fill(got)  # encode writes the zero values the dict holds; compare as Go would see both
    gogo_fill(expected)
    assert got == expected


# -- special types ----------------------------------------------------------------------------------------
def test_quantity_is_its_string():
    m = new(f"{CORE}.ResourceQuota")
    m.metadata.name = "q"
    m.spec.hard["cpu"].string = "1500m"
    m.spec.hard["memory"].string = "2Gi"
    m.spec.hard["pods"].SetInParent()  # a zero Quantity marshals as "0"
    assert pb.decode(body("v1", "ResourceQuota", m))["spec"]["hard"] == {"cpu": "1500m", "memory": "2Gi", "pods": "0"}


def test_quantity_given_as_json_number_encodes_as_its_text():
    obj = {"kind": "ResourceQuota", "apiVersion": "v1", "metadata": {"name": "q"}, "spec": {"hard": {"pods": 10}}}
    assert pb.decode(pb.encode(obj))["spec"]["hard"] == {"pods": "10"}


def test_time_is_rfc3339_utc_whole_seconds():
    m = go_pod()
    m.metadata.creationTimestamp.nanos = 999  # Go's Time drops nanos
    assert pb.decode(body("v1", "Pod", m))["metadata"]["creationTimestamp"] == "2024-05-06T07:08:09Z"


def test_time_with_offset_encodes_as_utc():
    obj = {"kind": "ConfigMap", "apiVersion": "v1",
           "metadata": {"name": "c", "creationTimestamp": "2024-05-06T09:08:09+02:00"}}
    assert pb.decode(pb.encode(obj))["metadata"]["creationTimestamp"] == "2024-05-06T07:08:09Z"


def test_zero_time_is_dropped():
    m = new(f"{CORE}.ConfigMap")
    m.metadata.name = "c"
    m.metadata.creationTimestamp.SetInParent()  # gogo writes a zero Time as an empty message
    assert "creationTimestamp" not in pb.decode(body("v1", "ConfigMap", m))["metadata"]


def test_micro_time_has_microseconds():
    spec = pb.decode(go_body("coordination.k8s.io/v1", "Lease", go_lease()))["spec"]
    assert spec["acquireTime"] == "2024-05-06T07:08:09.123456Z"
    assert spec["renewTime"] == "2024-05-06T07:08:19.000001Z"


def test_micro_time_truncates_nanoseconds():
    m = go_lease()
    m.spec.renewTime.nanos = 999_999_999
    assert pb.decode(body("coordination.k8s.io/v1", "Lease", m))["spec"]["renewTime"] == "2024-05-06T07:08:19.999999Z"


def test_int_or_string_is_int_or_str():
    container = pb.decode(go_body("v1", "Pod", go_pod()))["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["port"] == "http"
    assert container["readinessProbe"]["tcpSocket"]["port"] == 8080


def test_int_or_string_pointer_zero_is_kept():
    m = new("k8s.io.api.apps.v1.Deployment")
    m.metadata.name = "d"
    m.spec.strategy.type = "RollingUpdate"
    m.spec.strategy.rollingUpdate.maxUnavailable.intVal = 0
    m.spec.strategy.rollingUpdate.maxSurge.type = 1
    m.spec.strategy.rollingUpdate.maxSurge.strVal = "25%"
    m.spec.replicas = 0
    spec = pb.decode(go_body("apps/v1", "Deployment", m))["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": "25%"}
    assert spec["replicas"] == 0


def test_int_or_string_non_pointer_zero_is_dropped():
    m = new(f"{CORE}.Service")
    m.metadata.name = "svc"
    m.spec.ports.add().port = 80  # gogo writes targetPort {type: 0, intVal: 0, strVal: ""}
    assert pb.decode(go_body("v1", "Service", m))["spec"]["ports"] == [{"port": 80}]


def test_raw_extension_is_parsed_json():
    m = new("k8s.io.api.apps.v1.ControllerRevision")
    m.metadata.name = "r"
    m.data.raw = b'{"spec":{"template":{"x":[1,"2",null]}}}'
    m.revision = 3
    assert pb.decode(go_body("apps/v1", "ControllerRevision", m)) == {
        "kind": "ControllerRevision", "apiVersion": "apps/v1", "metadata": {"name": "r"},
        "data": {"spec": {"template": {"x": [1, "2", None]}}}, "revision": 3}


def test_raw_extension_holding_a_protobuf_object_is_decoded():
    m = new(f"{CORE}.List")
    m.items.add().raw = go_body("v1", "ConfigMap", go_configmap())
    assert pb.decode(go_body("v1", "List", m)) == {"kind": "List", "apiVersion": "v1", "items": [CONFIGMAP]}


def test_bytes_are_base64():
    data = pb.decode(go_body("v1", "Secret", go_secret()))["data"]
    assert data == {"token": b64(b"\x00\xffs3cr3t"), "empty": ""}


def test_config_map_binary_data_is_base64():
    cm = pb.decode(go_body("v1", "ConfigMap", go_configmap()))
    assert cm["binaryData"] == {"blob": "AAECAwQFBgc="}
    assert cm["data"] == {"a": "1", "blank": ""}


def test_fields_v1_is_parsed_json():
    m = new(f"{CORE}.ConfigMap")
    m.metadata.name = "c"
    mf = m.metadata.managedFields.add()
    mf.manager, mf.operation, mf.apiVersion, mf.fieldsType = "flytepropeller", "Update", "v1", "FieldsV1"
    mf.time.seconds = T0
    mf.fieldsV1.Raw = b'{"f:data":{".":{},"f:a":{}}}'
    assert pb.decode(go_body("v1", "ConfigMap", m))["metadata"]["managedFields"] == [{
        "manager": "flytepropeller", "operation": "Update", "apiVersion": "v1", "time": "2024-05-06T07:08:09Z",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}]


def test_verbs_are_a_list():
    m = new(f"{META}.APIResourceList")
    m.groupVersion = "v1"
    r = m.resources.add()
    r.name, r.singularName, r.namespaced, r.kind = "pods", "pod", True, "Pod"
    r.verbs.items.extend(["create", "get"])
    assert pb.decode(go_body("v1", "APIResourceList", m))["resources"] == [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["create", "get"]}]


def test_integral_double_reads_as_int():
    props = pb.decode(go_body("apiextensions.k8s.io/v1", "CustomResourceDefinition", go_crd()))
    replicas = props["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["replicas"]
    assert replicas["minimum"] == 0 and type(replicas["minimum"]) is int
    assert replicas["maximum"] == 2.5


@pytest.mark.parametrize(("nanos", "text"), [
    (0, "0s"), (1, "1ns"), (1500, "1.5\u00b5s"), (100_000_000, "100ms"), (1_500_000_000, "1.5s"),
    (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (-120 * 10**9, "-2m0s"), (3723 * 10**9 + 5, "1h2m3.000000005s"),
])
def test_duration_is_go_duration_text(nanos, text):
    assert _types.format_duration(nanos) == text
    assert _types.parse_duration(text) == nanos


# -- JSON names and the omit-empty rule --------------------------------------------------------------------
def test_json_schema_props_use_json_schema_names():
    root = pb.decode(go_body("apiextensions.k8s.io/v1", "CustomResourceDefinition", go_crd()))[
        "spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert root["x-kubernetes-preserve-unknown-fields"] is True
    assert root["required"] == ["spec"]
    assert "$ref" not in root and "$schema" not in root and "ref" not in root
    assert root["properties"]["tags"]["x-kubernetes-list-type"] == "set"
    assert root["properties"]["port"]["x-kubernetes-int-or-string"] is True


def test_json_schema_ref_is_dollar_ref():
    obj = {"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {"name": "x"},
           "spec": {"group": "g", "names": {"plural": "xs", "kind": "X"}, "scope": "Cluster", "versions": [
               {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                   "$ref": "#/definitions/a", "$schema": "http://json-schema.org/draft-04/schema#"}}}]}}
    data = pb.encode(obj)
    crd = new(f"{APIEXT}.CustomResourceDefinition")
    unk = new("k8s.io.apimachinery.pkg.runtime.Unknown")
    unk.ParseFromString(data[4:])
    crd.ParseFromString(unk.raw)
    assert crd.spec.versions[0].schema.openAPIV3Schema.ref == "#/definitions/a"
    assert pb.decode(data) == obj


def test_json_schema_props_or_bool_is_bool_or_schema():
    props = pb.decode(go_body("apiextensions.k8s.io/v1", "CustomResourceDefinition", go_crd()))[
        "spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert props["labels"]["additionalProperties"] == {"type": "string"}
    assert props["closed"]["additionalProperties"] is False
    assert props["tags"]["items"] == {"type": "string", "enum": ["a", "b"]}
    assert props["spec"]["default"] == {"a": 1}


def test_non_pointer_empty_scalars_are_dropped():
    m = new(f"{CORE}.ConfigMap")
    m.metadata.name = "c"
    m.metadata.generateName = ""
    m.metadata.generation = 0
    m.metadata.uid = ""
    assert pb.decode(body("v1", "ConfigMap", m))["metadata"] == {"name": "c"}


def test_required_zero_scalars_are_kept():
    status = pb.decode(go_body("v1", "Pod", go_pod()))["status"]["containerStatuses"][0]
    assert status["state"]["terminated"]["exitCode"] == 0
    assert status["ready"] is False and status["restartCount"] == 0 and status["imageID"] == ""
    m = new(f"{CORE}.Pod")
    m.spec.containers.add().ports.add().containerPort = 0
    assert pb.decode(go_body("v1", "Pod", m))["spec"]["containers"][0]["ports"] == [{"containerPort": 0}]


def test_pointer_zero_scalars_are_kept():
    spec = pb.decode(go_body("v1", "Pod", go_pod()))["spec"]
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["enableServiceLinks"] is False


def test_pointer_empty_structs_are_kept():
    spec = pb.decode(go_body("v1", "Pod", go_pod()))["spec"]
    assert spec["volumes"][0] == {"name": "scratch", "emptyDir": {}}
    assert spec["containers"][0]["securityContext"] == {}


def test_non_pointer_empty_structs_are_dropped():
    m = new(f"{CORE}.Pod")
    m.metadata.name = "p"
    m.spec.containers.add().name = "c"
    pod = pb.decode(go_body("v1", "Pod", m))  # gogo wrote status {}, resources {}, securityContext absent
    assert pod == {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}


def test_inline_structs_merge_into_parent():
    spec = pb.decode(go_body("v1", "Pod", go_pod()))["spec"]
    assert spec["volumes"][1]["configMap"]["name"] == "cfg"  # LocalObjectReference inline in VolumeSource inline
    assert "handler" not in spec["containers"][0]["livenessProbe"]
    assert spec["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_unknown_dict_keys_are_not_encoded():
    obj = {**CONFIGMAP, "status": {"x": 1}, "extra": True}
    assert pb.decode(pb.encode(obj)) == CONFIGMAP


# -- DeleteOptions ------------------------------------------------------------------------------------------
def test_delete_options_keep_zero_grace_period():
    opts = pb.decode(go_body("coordination.k8s.io/v1", "DeleteOptions", go_delete_options()))
    assert opts["gracePeriodSeconds"] == 0
    assert opts["preconditions"] == {"uid": "abc"}
    assert opts["propagationPolicy"] == "Background"


@pytest.mark.parametrize("api_version", ["v1", "meta.k8s.io/v1", "coordination.k8s.io/v1", "apps/v1", "batch/v1"])
def test_delete_options_decode_under_any_api_version(api_version):
    assert pb.decode(go_body(api_version, "DeleteOptions", go_delete_options())) == {
        **DELETE_OPTIONS, "apiVersion": api_version}


def test_delete_options_without_type_meta_take_the_defaults():
    unk = new("k8s.io.apimachinery.pkg.runtime.Unknown")
    unk.raw = go_delete_options().SerializeToString()
    got = pb.decode(b"k8s\x00" + unk.SerializeToString(), default_api_version="v1", default_kind="DeleteOptions")
    assert got == {**DELETE_OPTIONS, "apiVersion": "v1"}


# -- kinds, lists, watch -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("api_version", "kind", "message"), [
    ("v1", "Pod", f"{CORE}.Pod"),
    ("v1", "PodList", f"{CORE}.PodList"),
    ("coordination.k8s.io/v1", "Lease", "k8s.io.api.coordination.v1.Lease"),
    ("apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{APIEXT}.CustomResourceDefinition"),
    ("v1", "Status", f"{META}.Status"),
    ("meta.k8s.io/v1", "DeleteOptions", f"{META}.DeleteOptions"),
    ("meta.k8s.io/v1", "PartialObjectMetadataList", f"{META}.PartialObjectMetadataList"),
    ("meta.k8s.io/v1beta1", "PartialObjectMetadata", f"{META}.PartialObjectMetadata"),
])
def test_built_in_kinds_map_to_their_message(api_version, kind, message):
    assert pb.supports(api_version, kind)
    assert pb.message_name(api_version, kind) == message


@pytest.mark.parametrize(("api_version", "kind"), [
    ("flyte.lyft.com/v1alpha1", "FlyteWorkflow"),
    ("meta.k8s.io/v1", "Table"),
    ("v1", "Container"),  # a message, but not a kind
    ("apps/v1", "Pod"),
    ("v1", ""),
])
def test_custom_resources_and_non_kinds_are_not_supported(api_version, kind):
    assert not pb.supports(api_version, kind)


def test_encoding_a_custom_resource_is_not_acceptable():
    with pytest.raises(StatusError) as e:
        pb.encode({"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow", "metadata": {"name": "wf"}})
    assert (e.value.code, e.value.reason) == (406, "NotAcceptable")


@pytest.mark.parametrize("data", [b"", b"k8s\x00", b'{"kind":"Pod"}', b"k8s\x00\xff\xff\xff"])
def test_malformed_bodies_are_bad_requests(data):
    with pytest.raises(StatusError) as e:
        pb.decode(data)
    assert (e.value.code, e.value.reason) == (400, "BadRequest")


def test_unregistered_kind_is_a_bad_request():
    with pytest.raises(StatusError) as e:
        pb.decode(body("flyte.lyft.com/v1alpha1", "FlyteWorkflow", new(f"{CORE}.ConfigMap")))
    assert e.value.code == 400
    assert 'no kind "FlyteWorkflow" is registered' in e.value.message


def test_encode_list_writes_items_without_type_meta():
    data = pb.encode_list("v1", "ConfigMapList", [CONFIGMAP], {"resourceVersion": "42"})
    assert pb.decode(data) == {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "42"},
                               "items": [{k: v for k, v in CONFIGMAP.items() if k not in ("kind", "apiVersion")}]}


def test_watch_event_is_a_length_prefixed_watch_event_frame():
    frame = pb.encode_watch_event("ADDED", POD)
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    ev = new(f"{META}.WatchEvent")
    ev.ParseFromString(frame[4:])
    assert ev.type == "ADDED"
    assert ev.object.raw[:4] == b"k8s\x00"
    assert pb.decode(ev.object.raw) == POD
    assert pb.decode_watch_event(frame) == ("ADDED", POD)


def test_descriptor_set_is_loaded_once():
    assert _codec.registry() is _codec.registry()
    assert _codec.registry().resolve("v1", "Pod") is _codec.registry().resolve("v1", "Pod")


# -- against real Go -----------------------------------------------------------------------------------------
GO_PROGRAM = r'''
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	admregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

func main() {
	s := runtime.NewScheme()
	corev1.AddToScheme(s)
	coordv1.AddToScheme(s)
	apiextv1.AddToScheme(s)
	admregv1.AddToScheme(s)
	appsv1.AddToScheme(s)
	ser := protobuf.NewSerializer(s, s)
	ts := metav1.NewTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	mt := metav1.NewMicroTime(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC))
	objs := []runtime.Object{
		&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", CreationTimestamp: ts, Labels: map[string]string{"a": "b"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "flyte.lyft.com/v1alpha1", Kind: "FlyteWorkflow", Name: "wf", UID: "u1", Controller: ptr(true)}}},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "c", Image: "img", Args: []string{"a"},
					Env:            []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
					Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("1Gi")}},
					Ports:          []corev1.ContainerPort{{ContainerPort: 0, Name: "x"}},
					LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}, PeriodSeconds: 5},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}},
				}},
				Volumes:                       []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				TerminationGracePeriodSeconds: ptr(int64(0)), RestartPolicy: "Never"},
			Status: corev1.PodStatus{Phase: "Running", ContainerStatuses: []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}}},
		&coordv1.Lease{TypeMeta: metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"}, ObjectMeta: metav1.ObjectMeta{Name: "l"},
			Spec: coordv1.LeaseSpec{HolderIdentity: ptr("me"), AcquireTime: &mt, RenewTime: &mt, LeaseTransitions: ptr(int32(0))}},
		&corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"k": []byte("\x00\xffhi")}, Type: "Opaque"},
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "cm"}, BinaryData: map[string][]byte{"b": {1, 2, 3}}},
		&corev1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}, ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"}, Reason: "Started", FirstTimestamp: ts, Count: 1, EventTime: mt},
		&apiextv1.CustomResourceDefinition{TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"}, ObjectMeta: metav1.ObjectMeta{Name: "xs.g"},
			Spec: apiextv1.CustomResourceDefinitionSpec{Group: "g", Scope: "Namespaced", Names: apiextv1.CustomResourceDefinitionNames{Plural: "xs", Kind: "X"},
				Versions: []apiextv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object", Required: []string{"spec"}, XPreserveUnknownFields: ptr(true),
					Properties: map[string]apiextv1.JSONSchemaProps{
						"spec": {Type: "object", Default: &apiextv1.JSON{Raw: []byte(`{"a":1}`)}},
						"n":    {Type: "number", Minimum: ptr(0.0), Maximum: ptr(2.5)},
						"m":    {Type: "object", AdditionalProperties: &apiextv1.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextv1.JSONSchemaProps{Type: "string"}}},
						"l":    {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{Type: "string"}}, XListType: ptr("set")},
					}}}}}}},
		&admregv1.MutatingWebhookConfiguration{TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"}, ObjectMeta: metav1.ObjectMeta{Name: "m"},
			Webhooks: []admregv1.MutatingWebhook{{Name: "w.x.io", ClientConfig: admregv1.WebhookClientConfig{Service: &admregv1.ServiceReference{Namespace: "ns", Name: "svc", Port: ptr(int32(443))}, CABundle: []byte("ca")},
				Rules:       []admregv1.RuleWithOperations{{Operations: []admregv1.OperationType{"CREATE"}, Rule: admregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
				SideEffects: ptr(admregv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}, TimeoutSeconds: ptr(int32(10))}}},
		&metav1.DeleteOptions{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"}, GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: ptr(types.UID("abc"))}, PropagationPolicy: ptr(metav1.DeletePropagationBackground)},
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(0)),
			Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromInt32(0))}}}},
	}
	for _, o := range objs {
		var buf bytes.Buffer
		if err := ser.Encode(o, &buf); err != nil {
			panic(err)
		}
		js, err := json.Marshal(o)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s\n", base64.StdEncoding.EncodeToString(buf.Bytes()), base64.StdEncoding.EncodeToString(js))
	}
}
'''

GO_MOD = """module protobufcheck

go 1.24

require (
	k8s.io/api v0.34.1
	k8s.io/apiextensions-apiserver v0.34.1
	k8s.io/apimachinery v0.34.1
)
"""


def _differences(decoded, go, path=""):
    """Paths where ``decoded`` differs from Go's JSON, except keys Go writes as null or as an empty
    struct (``{}``, possibly holding only nulls) that the decoded dict leaves out (the omit rule)."""
    def empty(v):
        return v is None or (isinstance(v, dict) and all(empty(x) for x in v.values()))
    if isinstance(decoded, dict) and isinstance(go, dict):
        out = []
        for k in sorted(set(decoded) | set(go)):
            if k not in decoded:
                if not empty(go[k]):
                    out.append(f"{path}/{k}: missing, Go has {go[k]!r}")
            elif k not in go:
                out.append(f"{path}/{k}: extra {decoded[k]!r}")
            else:
                out += _differences(decoded[k], go[k], f"{path}/{k}")
        return out
    if isinstance(decoded, list) and isinstance(go, list) and len(decoded) == len(go):
        return [d for i, (a, b) in enumerate(zip(decoded, go, strict=False)) for d in _differences(a, b, f"{path}/{i}")]
    if decoded != go or type(decoded) is not type(go):
        return [f"{path}: {decoded!r} != Go {go!r}"]
    return []


@pytest.mark.go
def test_decode_of_go_marshalled_objects_matches_go_json(tmp_path):
    go = require_tool(shutil.which("go"), "the Go toolchain (`go`) is not on PATH")
    (tmp_path / "main.go").write_text(GO_PROGRAM)
    (tmp_path / "go.mod").write_text(GO_MOD)
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    tidy = subprocess.run([go, "mod", "tidy"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert tidy.returncode == 0, f"cannot fetch the Go modules: {tidy.stderr[-500:]}"
    run = subprocess.run([go, "run", "."], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.split()
    assert len(lines) == 18
    for pb_text, json_text in zip(lines[::2], lines[1::2], strict=True):
        decoded = pb.decode(base64.b64decode(pb_text))
        go_json = json.loads(base64.b64decode(json_text))
        assert _differences(decoded, go_json) == [], decoded["kind"]
        assert pb.decode(pb.encode(decoded)) == decoded
