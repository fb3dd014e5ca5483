"""OpenAPI v3 and v2 documents of the served resources, as kubectl and client-go read them.

By job: `names` (definition names and paths), `definitions` (built-in and CRD schemas in OpenAPI v3 form),
`operations` (the paths and operations of a resource and its subresources), `v3` (documents, index, hashes),
`v2` (the Swagger 2.0 conversion) and `v2_gnostic` (its protobuf form).

What the clients need (kubectl and cli-runtime 1.27-1.33):

- `/openapi/v3` is an index `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=H"}}}`;
  client-go fetches each group-version document through its serverRelativeURL and caches it (on disk too) by
  that URL, so the hash must change whenever the document does (`document_hash`; upstream uses the
  upper-case hex SHA-512 of the document).
- Field validation (cli-runtime `query_param_verifier_v3.go`): kubectl create/apply/replace look in the
  group-version document for a PATCH operation whose `x-kubernetes-group-version-kind` is the object's GVK
  and check that it lists a `fieldValidation` parameter. If it does, validation is left to the server
  (`?fieldValidation=Strict`); every PATCH operation of a kind (the main path and `/status`) carries it,
  since the verifier stops at the first matching one it meets.
- Client-side apply (kubectl `cmd/apply/patcher.go`, v3 path used by default from 1.29 on): the PATCH
  operation's `requestBody.content` must offer `application/strategic-merge-patch+json` (built-in kinds
  only; for CRDs it is absent and kubectl falls back to a JSON merge patch), and `components.schemas`
  must hold the kind's schema (found by `x-kubernetes-group-version-kind`) with `x-kubernetes-patch-merge-key`
  / `x-kubernetes-patch-strategy` on its fields and references written `#/components/schemas/<name>`
  (optionally wrapped in a one-element `allOf`, as upstream writes them).
- `kubectl explain` (`pkg/explain/v2`, default since 1.27): fetches the group-version document, finds the GVK
  from an operation on `/api[s/<group>]/<version>/[namespaces/{namespace}/]<resource>[/{name}]`, then the
  schema in `components.schemas` whose `x-kubernetes-group-version-kind` list contains it; its templates
  compare `type` with strings, so types must be plain strings, not JSON-schema type lists.

`/openapi/v2` cannot be left out: kubectl 1.27 downloads it (protobuf only: client-go sends
`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, wants the reply typed `V2_PROTOBUF`
(the same with "." for "@") and decodes the body as gnostic's
`openapi_v2.Document` whatever the response says, then tries `/swagger-2.0.0.pb-v1`) before create/apply/replace
with validation on (its field-validation check reads v2), and kubectl 1.27 and 1.28 `explain` require it in
`Complete()` even though they render from v3; a 404 there makes those commands fail with "the server could not
find the requested resource". kubectl 1.29-1.33 only fall back to v2 when v3 fails, and client-side apply of
every version tolerates a v2 failure (it then uses compiled-in types). So the server serves `v2_document(...)`:
as protobuf (`v2_protobuf`, content type `V2_PROTOBUF`) for that Accept and as JSON for `application/json`.
kube-openapi's v2 parser rejects the whole document if one `$ref` does not resolve, a type is a list, or an
array has no `items`; the builder guarantees all three.

Built-in schemas come from `shim.machinery.schemas` (kubernetes-validate), converted from their JSON-schema
flavour back to upstream's OpenAPI v3 shapes: `["string", "null"]` types become `"string"`, the `enum`s the
package adds to `apiVersion`/`kind` are dropped, IntOrString and Quantity become upstream's `type: string`
definitions, and a `$ref` with siblings becomes `allOf: [{$ref}]` plus the siblings. Definition names are
upstream's (`io.k8s.api.core.v1.Pod`); CRD kinds are named like upstream's CRD publisher does
(`com.example.stable.v1.CronTab` for group `stable.example.com`).
"""
from __future__ import annotations

from shim.machinery.openapi.definitions import builtin_definition
from shim.machinery.openapi.names import V2_REF_PREFIX, V3_REF_PREFIX, crd_definition_name, gv_path
from shim.machinery.openapi.v2 import v2_document
from shim.machinery.openapi.v2_gnostic import V2_PROTOBUF, V2_PROTOBUF_ACCEPT, v2_protobuf
from shim.machinery.openapi.v3 import document_hash, v3_document, v3_index

__all__ = [
    "V3_REF_PREFIX", "V2_REF_PREFIX", "V2_PROTOBUF", "V2_PROTOBUF_ACCEPT", "gv_path", "document_hash", "v3_index",
    "v3_document", "v2_document", "v2_protobuf", "crd_definition_name", "builtin_definition",
]
