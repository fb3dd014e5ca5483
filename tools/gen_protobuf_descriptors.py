#!/usr/bin/env python3
"""Regenerate the Kubernetes protobuf data used by ``shim.machinery.protobuf``.

Run once per Kubernetes minor (needs the Go toolchain, network access to the Go
module proxy, and ``grpcio-tools`` from the ``dev`` extra)::

    .venv/bin/python tools/gen_protobuf_descriptors.py            # v0.34.1
    .venv/bin/python tools/gen_protobuf_descriptors.py --version v0.35.0
    .venv/bin/python tools/gen_protobuf_descriptors.py --only openapi   # openapiv2.desc alone

It

1. fetches the Go modules k8s.io/api, k8s.io/apimachinery and
   k8s.io/apiextensions-apiserver at the pinned version with
   ``go mod download -json`` (which prints each module's ``Dir``);
2. lays them out by import path in a temp tree (``<tmp>/k8s.io/api`` ->
   module dir, ...) so that imports such as
   ``k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto`` resolve, and runs
   protoc from grpcio-tools over every ``generated.proto`` of the three modules;
   the FileDescriptorSet (``--include_imports``) is written to
   ``shim/machinery/protobuf/k8s-<version>.desc``;
3. reads the Go structs those messages were generated from and writes
   ``shim/machinery/protobuf/k8s-<version>.fields.json``: for every proto field,
   the Go facts the descriptor does not carry but the JSON form depends on --
   the JSON name (``$ref`` for proto ``ref``, ``x-kubernetes-...``), whether the
   Go field is a pointer (gogo writes pointer fields only when set; non-pointer
   fields always), whether its JSON tag lacks ``omitempty`` (or the field is
   required in the Kubernetes OpenAPI schema shipped by kubernetes-validate),
   whether it is an embedded struct inlined into its parent's JSON
   (``Volume.volumeSource``, ``Probe.handler``, ...), and the value of its ``+default=`` marker (what
   upstream's OpenAPI publishes as the field's ``default``; server-side apply keys list items by it, e.g.
   a port's ``protocol: TCP``).  It also records each API
   group/version's proto package and registered kinds (``register.go``) and the
   Go slice types that protobuf wraps in a message (``Verbs``, ``ExtraValue``).

4. fetches github.com/google/gnostic-models (the version kube-openapi uses) and
   writes the FileDescriptorSet of its ``openapiv2/OpenAPIv2.proto`` (with
   ``google/protobuf/any.proto``) to ``shim/machinery/protobuf/openapiv2.desc``:
   the ``openapi_v2.Document`` that client-go asks ``/openapi/v2`` for.

No Python classes are generated: the runtime builds message classes from the
descriptor sets with ``google.protobuf.message_factory``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MODULES = ("k8s.io/api", "k8s.io/apimachinery", "k8s.io/apiextensions-apiserver")
DEFAULT_VERSION = "v0.34.1"
GNOSTIC = "github.com/google/gnostic-models"
GNOSTIC_VERSION = "v0.7.0"  # k8s.io/kube-openapi's, at Kubernetes 1.34
REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "shim" / "machinery" / "protobuf"

_STRUCT_RE = re.compile(r"^type (\w+) struct \{\s*$")
_SLICE_RE = re.compile(r"^type (\w+) \[\]\w+\s*$")
# one struct field per line in gofmt'd code: "\tName Type `tags`" or embedded "\tType `tags`"
_FIELD_RE = re.compile(r"^\t(?:(\w+)\s+)?(\*?)([\w.\[\]*]+(?:\[[\w.]+\][\w.*]+)?)\s+`([^`]*)`")
_TAG_RE = re.compile(r'(\w+):"([^"]*)"')
_GROUP_RE = re.compile(r'GroupName\s*=\s*"([^"]*)"')
_KNOWN_TYPES_RE = re.compile(r"&(\w+)\{\}")
# openapi-gen's default marker, e.g. `// +default="TCP"` (values of other types, `ref(...)`, are not kept)
_DEFAULT_RE = re.compile(r"^\s*//\s*\+default=(.+?)\s*$")


def download(module: str, version: str) -> Path:
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        check=True, capture_output=True, text=True, cwd=tempfile.gettempdir(),
    ).stdout
    info = json.loads(out)
    if info.get("Error"):
        raise SystemExit(f"go mod download {module}@{version}: {info['Error']}")
    return Path(info["Dir"])


def run_protoc(root: Path, protos: list[str], out: Path) -> None:
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", "--include_imports",
           f"--descriptor_set_out={out}", *protos]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"protoc failed ({proc.returncode})")


def parse_go_package(pkg_dir: Path) -> tuple[dict[str, dict[int, dict]], set[str]]:
    """Go structs of one package: {type: {proto field number: facts}}, and slice types."""
    structs: dict[str, dict[int, dict]] = {}
    slices: set[str] = set()
    for path in sorted(pkg_dir.glob("*.go")):
        name = path.name
        if name.endswith("_test.go") or name.startswith("zz_generated") or name.endswith(".pb.go") \
                or name.endswith("swagger_doc_generated.go"):
            continue
        current: str | None = None
        default: str | None = None  # the `// +default=` marker above the next field
        field_default: str | None = None
        for line in path.read_text().splitlines():
            marker = _DEFAULT_RE.match(line)
            if marker:
                default = marker.group(1)
                continue
            if not line.strip().startswith("//"):
                field_default, default = default, None
            if current is None:
                m = _STRUCT_RE.match(line)
                if m:
                    current = m.group(1)
                    structs.setdefault(current, {})
                    continue
                m = _SLICE_RE.match(line)
                if m:
                    slices.add(m.group(1))
                continue
            if line.startswith("}"):
                current = None
                continue
            m = _FIELD_RE.match(line)
            if not m:
                continue
            go_name, star, go_type, tag_text = m.groups()
            tags = dict(_TAG_RE.findall(tag_text))
            pb = tags.get("protobuf")
            if not pb or pb == "-":
                continue
            parts = pb.split(",")
            number = int(parts[1])
            embedded = go_name is None
            json_tag = tags.get("json")
            if json_tag is None and not embedded:
                # no JSON name of its own (JSONSchemaPropsOrBool.Schema, Unknown.ContentType): the
                # type's JSON form is special-cased at runtime; only the pointer fact is recorded
                structs[current][number] = {"json": None, "ptr": bool(star), "omitempty": True,
                                            "inline": False, "hidden": False}
                continue
            json_name, *opts = (json_tag or "").split(",")
            inline = "inline" in opts or (embedded and not json_name)
            hidden = json_name == "-"
            structs[current][number] = {
                "json": None if inline or hidden else json_name,
                "ptr": bool(star),
                "omitempty": "omitempty" in opts,
                "inline": inline,
                "hidden": hidden,
            }
            if field_default is not None and not field_default.startswith("ref("):
                structs[current][number]["default"] = json.loads(field_default)
    return structs, slices


def registered_kinds(register_go: str) -> list[str]:
    """Kinds a register.go adds to its group version (``&Pod{}`` in addKnownTypes / AddMetaToScheme)."""
    kinds: set[str] = set()
    for func in ("func addKnownTypes", "func AddMetaToScheme"):
        start = register_go.find(func)
        if start >= 0:
            end = register_go.find("\n}\n", start)
            kinds.update(_KNOWN_TYPES_RE.findall(register_go[start:end]))
    return sorted(kinds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", default=DEFAULT_VERSION)
    ap.add_argument("--schema-version", default=None,
                    help="kubernetes-validate schema dir for required fields (default: v1.<minor>.0-local)")
    ap.add_argument("--out-dir", default=str(OUT_DIR))
    ap.add_argument("--only", choices=("k8s", "openapi"), help="regenerate one of the two descriptor sets")
    args = ap.parse_args()
    if args.only != "k8s":
        write_openapi_v2(Path(args.out_dir))
    if args.only != "openapi":
        write_kubernetes(args)


def write_openapi_v2(out_dir: Path) -> None:
    """gnostic's OpenAPI v2 model, as a FileDescriptorSet."""
    module_dir = download(GNOSTIC, GNOSTIC_VERSION)
    out = out_dir / "openapiv2.desc"
    run_protoc(module_dir, ["openapiv2/OpenAPIv2.proto"], out)
    print(f"wrote {out} ({out.stat().st_size} bytes, {GNOSTIC}@{GNOSTIC_VERSION})")


def write_kubernetes(args: argparse.Namespace) -> None:
    version = args.version
    minor = version.split(".")[1]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    from google.protobuf import descriptor_pb2  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="k8s-proto-") as tmp:
        root = Path(tmp)
        module_dirs: dict[str, Path] = {}
        for mod in MODULES:
            d = download(mod, version)
            module_dirs[mod] = d
            link = root / mod
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(d, link)
        protos: list[str] = []
        for mod, d in module_dirs.items():
            for p in sorted(d.rglob("generated.proto")):
                protos.append(f"{mod}/{p.relative_to(d).as_posix()}")
        desc_path = out_dir / f"k8s-{version}.desc"
        run_protoc(root, protos, desc_path)
        print(f"wrote {desc_path} ({desc_path.stat().st_size} bytes, {len(protos)} generated.proto files)")

        fds = descriptor_pb2.FileDescriptorSet.FromString(desc_path.read_bytes())
        required = load_openapi_required(args.schema_version or f"v1.{minor}.0-local")

        fields_out: dict[str, dict[str, dict]] = {}
        slices_out: list[str] = []
        group_versions: dict[str, dict] = {}
        unmatched: list[str] = []
        for fdp in fds.file:
            go_dir = root / Path(fdp.name).parent
            structs, slices = parse_go_package(go_dir)
            pkg = fdp.package
            register = go_dir / "register.go"
            if register.exists():
                text = register.read_text()
                gm = _GROUP_RE.search(text)
                if gm is not None and "testapigroup" not in fdp.name:
                    gv_version = go_dir.name
                    gv = f"{gm.group(1)}/{gv_version}" if gm.group(1) else gv_version
                    group_versions[gv] = {"package": pkg, "kinds": registered_kinds(text)}
            for msg in fdp.message_type:
                full = f"{pkg}.{msg.name}"
                if msg.name in slices:
                    slices_out.append(full)
                    continue
                go = structs.get(msg.name)
                if go is None:
                    continue
                req = required.get(openapi_name(full), set())
                ann: dict[str, dict] = {}
                for f in msg.field:
                    facts = go.get(f.number)
                    if facts is None:
                        unmatched.append(f"{full}.{f.name}")
                        continue
                    a: dict = {}
                    if facts["inline"]:
                        a["inline"] = 1
                    elif facts["hidden"]:
                        a["hidden"] = 1
                    elif facts["json"] is not None and facts["json"] != f.name:
                        a["json"] = facts["json"]
                    if facts["ptr"]:
                        a["ptr"] = 1
                    if "default" in facts:
                        a["default"] = facts["default"]
                    json_name = facts["json"] or f.name
                    if not facts["omitempty"] and not facts["inline"] and facts["json"] is not None:
                        a["keep"] = 1
                    elif json_name in req:
                        a["keep"] = 1
                    if a:
                        ann[f.name] = a
                if ann:
                    fields_out[full] = ann
        if unmatched:
            print(f"note: {len(unmatched)} proto fields without a Go struct field (custom-marshalled types, "
                  f"special-cased at runtime): {', '.join(unmatched)}")
        data = {
            "version": version,
            "groupVersions": dict(sorted(group_versions.items())),
            "slices": sorted(slices_out),
            "fields": dict(sorted(fields_out.items())),
        }
        fields_path = out_dir / f"k8s-{version}.fields.json"
        fields_path.write_text(json.dumps(data, indent=0, sort_keys=False, separators=(",", ":")) + "\n")
        print(f"wrote {fields_path} ({fields_path.stat().st_size} bytes, {len(fields_out)} messages, "
              f"{len(group_versions)} group versions)")


def openapi_name(proto_full_name: str) -> str:
    # k8s.io.api.core.v1.Pod -> io.k8s.api.core.v1.Pod;
    # k8s.io.apiextensions_apiserver.pkg... -> io.k8s.apiextensions-apiserver.pkg...
    rest = proto_full_name[len("k8s.io."):]
    return "io.k8s." + rest.replace("apiextensions_apiserver", "apiextensions-apiserver", 1)


def load_openapi_required(schema_version: str) -> dict[str, set[str]]:
    """{OpenAPI definition name: required JSON property names} from kubernetes-validate."""
    try:
        import kubernetes_validate  # noqa: PLC0415
    except ImportError:
        print("warning: kubernetes-validate not installed; using Go json tags only")
        return {}
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / schema_version
    path = base / "_definitions.json"
    if not path.exists():
        print(f"warning: {path} missing; using Go json tags only")
        return {}
    doc = json.loads(path.read_text())
    defs = doc.get("$defs") or doc.get("definitions") or {}
    return {name: set(d.get("required", ())) for name, d in defs.items()}


if __name__ == "__main__":
    main()
