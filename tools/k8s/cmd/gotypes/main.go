// Command gotypes writes the Go types kube-apiserver decodes request bodies into, as JSON: for every built-in kind
// its external type and the internal type it converts to, and the type graph under them (struct fields by JSON
// name, slice and map elements, pointers followed, types with a json.Unmarshaler of their own marked custom).
// kubeshim reads it (shim/machinery/gotypes.json) to refuse and word a body as encoding/json refuses and words it:
// `json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`.
//
//	cd tools/k8s && go run ./cmd/gotypes > ../../shim/machinery/gotypes.json
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"

	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationinstall "k8s.io/kube-aggregator/pkg/apis/apiregistration/install"
	"k8s.io/kubernetes/pkg/api/legacyscheme"

	// every built-in group, as kube-apiserver installs them (pkg/controlplane/import_known_versions.go)
	_ "k8s.io/kubernetes/pkg/apis/admission/install"
	_ "k8s.io/kubernetes/pkg/apis/admissionregistration/install"
	_ "k8s.io/kubernetes/pkg/apis/apiserverinternal/install"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	_ "k8s.io/kubernetes/pkg/apis/authentication/install"
	_ "k8s.io/kubernetes/pkg/apis/authorization/install"
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install"
	_ "k8s.io/kubernetes/pkg/apis/batch/install"
	_ "k8s.io/kubernetes/pkg/apis/certificates/install"
	_ "k8s.io/kubernetes/pkg/apis/coordination/install"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/discovery/install"
	_ "k8s.io/kubernetes/pkg/apis/events/install"
	_ "k8s.io/kubernetes/pkg/apis/flowcontrol/install"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	_ "k8s.io/kubernetes/pkg/apis/node/install"
	_ "k8s.io/kubernetes/pkg/apis/policy/install"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"
	_ "k8s.io/kubernetes/pkg/apis/resource/install"
	_ "k8s.io/kubernetes/pkg/apis/scheduling/install"
	_ "k8s.io/kubernetes/pkg/apis/storage/install"
	_ "k8s.io/kubernetes/pkg/apis/storagemigration/install"
)

// Type is one Go type: what encoding/json's errors print for it and how a JSON value decodes into it.
type Type struct {
	Go     string            `json:"go"`               // reflect's String(): `[]v1.Container`, `v1.RestartPolicy`
	Kind   string            `json:"kind"`             // struct, slice, map, bytes, custom, any, or a basic kind
	Name   string            `json:"name,omitempty"`   // a struct's own name, the `Struct` of an error's context
	Fields map[string]string `json:"fields,omitempty"` // a struct's fields by JSON name (embedded ones promoted)
	Elem   string            `json:"elem,omitempty"`   // a slice's or map's element
}

// Kind is a served kind: its external Go type and the internal one a body converts to.
type Kind struct {
	Type     string `json:"type"`
	Internal string `json:"internal,omitempty"` // `core.ConfigMap`
}

var unmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

type graph map[string]*Type

// id names a type uniquely: a named type by package path and name, an unnamed one by its structure.
func id(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "[]" + id(t.Elem())
	case reflect.Map:
		return "map[" + id(t.Key()) + "]" + id(t.Elem())
	}
	return t.String()
}

func (g graph) add(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	key := id(t)
	if _, seen := g[key]; seen {
		return key
	}
	info := &Type{Go: t.String(), Kind: t.Kind().String()}
	g[key] = info
	switch {
	case reflect.PointerTo(t).Implements(unmarshaler):
		info.Kind = "custom"
	case t.Kind() == reflect.Interface:
		info.Kind = "any"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		info.Kind = "bytes"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		info.Kind, info.Elem = "slice", g.add(t.Elem())
	case t.Kind() == reflect.Map:
		info.Elem = g.add(t.Elem())
	case t.Kind() == reflect.Struct:
		info.Name, info.Fields = t.Name(), map[string]string{}
		g.fields(t, info.Fields)
	}
	return key
}

// fields collects a struct's JSON fields; an embedded struct without a JSON name is promoted, its fields yielding
// to the outer struct's own (encoding/json's dominance, as far as the API types need it).
func (g graph) fields(t reflect.Type, out map[string]string) {
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if name == "" && f.Anonymous {
			inner := f.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				embedded = append(embedded, inner)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = g.add(f.Type)
	}
	for _, inner := range embedded {
		promoted := map[string]string{}
		g.fields(inner, promoted)
		for name, field := range promoted {
			if _, own := out[name]; !own {
				out[name] = field
			}
		}
	}
}

func main() {
	schemes := []*runtime.Scheme{legacyscheme.Scheme, runtime.NewScheme(), runtime.NewScheme()}
	apiextensionsinstall.Install(schemes[1])
	apiregistrationinstall.Install(schemes[2])
	g := graph{}
	kinds := map[string]any{}
	for _, scheme := range schemes {
		for gvk, t := range scheme.AllKnownTypes() {
			if gvk.Version == runtime.APIVersionInternal {
				continue
			}
			kind := Kind{Type: g.add(t)}
			// the internal type a body of this kind converts to (none for meta's kinds: options, Status, ...)
			if internal, err := scheme.New(gvk.GroupKind().WithVersion(runtime.APIVersionInternal)); err == nil {
				kind.Internal = reflect.TypeOf(internal).Elem().String()
			}
			kinds[schema.GroupVersion{Group: gvk.Group, Version: gvk.Version}.String()+"/"+gvk.Kind] = kind
		}
	}
	types := map[string]any{}
	for key, info := range g {
		types[key] = info
	}
	os.Stdout.WriteString("{\"kinds\": ")
	writeLines(kinds)
	os.Stdout.WriteString(",\n\"types\": ")
	writeLines(types)
	os.Stdout.WriteString("}\n")
}

// writeLines writes a JSON object one sorted entry a line, so that a new Kubernetes version's changes read as a
// diff.
func writeLines(entries map[string]any) {
	keys := make([]string, 0, len(entries))
	for key := range entries {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	os.Stdout.WriteString("{\n")
	for i, key := range keys {
		name, _ := json.Marshal(key)
		value, err := json.Marshal(entries[key])
		if err != nil {
			panic(err)
		}
		sep := ",\n"
		if i == len(keys)-1 {
			sep = "\n"
		}
		os.Stdout.WriteString(string(name) + ": " + string(value) + sep)
	}
	os.Stdout.WriteString("}")
}
