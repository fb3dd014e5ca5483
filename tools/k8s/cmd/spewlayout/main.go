// Command spewlayout writes the Go memory layout of v1.PodTemplateSpec as spew sees it, as JSON: every type under
// it with reflect's name for it and its kind, a struct's fields in declaration order (Go name, JSON name, type;
// unexported ones too), a pointer's, slice's or map's element. kubeshim reads it (shim/machinery/golayout.json)
// to print a pod template as hashutil.DeepHashObject does, so its pod-template-hash equals the
// kube-controller-manager's (controller.ComputeHash).
//
//	cd tools/k8s && go run ./cmd/spewlayout > ../../shim/machinery/golayout.json
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Type is one Go type as spew prints it.
type Type struct {
	Go     string   `json:"go"`               // reflect's String(): what `%#v` prints in parentheses
	Kind   string   `json:"kind"`             // reflect's Kind: struct, ptr, slice, map, string, int32, ...
	Fields []*Field `json:"fields,omitempty"` // a struct's fields in declaration order
	Elem   string   `json:"elem,omitempty"`   // a pointer's, slice's, array's or map's element
}

// Field is one struct field: the name spew prints, where its value sits in JSON and its type.
type Field struct {
	Name   string `json:"name"`
	JSON   string `json:"json,omitempty"`   // empty for unexported fields and embedded ones without a name
	Inline bool   `json:"inline,omitempty"` // an embedded struct whose JSON fields are the outer object's
	Type   string `json:"type"`
}

type graph map[string]*Type

// id names a type uniquely: a named type by package path and name, an unnamed one by its structure.
func id(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + id(t.Elem())
	case reflect.Slice:
		return "[]" + id(t.Elem())
	case reflect.Map:
		return "map[" + id(t.Key()) + "]" + id(t.Elem())
	}
	return t.String()
}

func (g graph) add(t reflect.Type) string {
	key := id(t)
	if _, seen := g[key]; seen {
		return key
	}
	info := &Type{Go: t.String(), Kind: t.Kind().String()}
	g[key] = info
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		info.Elem = g.add(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			field := &Field{Name: f.Name, Type: g.add(f.Type)}
			if f.IsExported() {
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				switch {
				case name == "-":
				case name != "":
					field.JSON = name
				case f.Anonymous && strings.Contains(","+opts+",", ",inline,") || f.Anonymous && f.Tag.Get("json") == "":
					field.Inline = f.Type.Kind() == reflect.Struct
				default:
					field.JSON = f.Name
				}
			}
			info.Fields = append(info.Fields, field)
		}
	}
	return key
}

func main() {
	g := graph{}
	root := g.add(reflect.TypeOf(v1.PodTemplateSpec{}))
	keys := make([]string, 0, len(g))
	for key := range g {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	root_, _ := json.Marshal(root)
	os.Stdout.WriteString("{\"root\": " + string(root_) + ",\n\"types\": {\n")
	for i, key := range keys {
		name, _ := json.Marshal(key)
		value, err := json.Marshal(g[key])
		if err != nil {
			panic(err)
		}
		sep := ",\n"
		if i == len(keys)-1 {
			sep = "\n"
		}
		os.Stdout.WriteString(string(name) + ": " + string(value) + sep)
	}
	os.Stdout.WriteString("}}\n")
}
