package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/admin"
	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/core"
)

// literalFromJSON converts a JSON value to a Literal of type t: the simple types, lists (collection_type)
// and string-keyed maps (map_value_type) of them. That covers what a command line can say; anything
// richer (files, dataframes, dataclasses) belongs in a launch plan default.
func literalFromJSON(v any, t *core.LiteralType) (*core.Literal, error) {
	switch {
	case t.GetCollectionType() != nil:
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want a JSON list, got %T", v)
		}
		lits := make([]*core.Literal, 0, len(items))
		for i, item := range items {
			l, err := literalFromJSON(item, t.GetCollectionType())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			lits = append(lits, l)
		}
		return &core.Literal{Value: &core.Literal_Collection{Collection: &core.LiteralCollection{Literals: lits}}}, nil
	case t.GetMapValueType() != nil:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want a JSON object, got %T", v)
		}
		lits := make(map[string]*core.Literal, len(obj))
		for k, item := range obj {
			l, err := literalFromJSON(item, t.GetMapValueType())
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			lits[k] = l
		}
		return &core.Literal{Value: &core.Literal_Map{Map: &core.LiteralMap{Literals: lits}}}, nil
	}
	var p *core.Primitive
	switch t.GetSimple() {
	case core.SimpleType_INTEGER:
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return nil, fmt.Errorf("want an integer, got %v", v)
		}
		p = &core.Primitive{Value: &core.Primitive_Integer{Integer: int64(f)}}
	case core.SimpleType_FLOAT:
		f, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("want a number, got %v", v)
		}
		p = &core.Primitive{Value: &core.Primitive_FloatValue{FloatValue: f}}
	case core.SimpleType_STRING:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %v", v)
		}
		p = &core.Primitive{Value: &core.Primitive_StringValue{StringValue: s}}
	case core.SimpleType_BOOLEAN:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %v", v)
		}
		p = &core.Primitive{Value: &core.Primitive_Boolean{Boolean: b}}
	case core.SimpleType_DATETIME:
		s, _ := v.(string)
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("want an RFC 3339 time: %w", err)
		}
		p = &core.Primitive{Value: &core.Primitive_Datetime{Datetime: timestamppb.New(ts)}}
	default:
		return nil, fmt.Errorf("type %v cannot be given on the command line", t)
	}
	return &core.Literal{Value: &core.Literal_Scalar{Scalar: &core.Scalar{Value: &core.Scalar_Primitive{Primitive: p}}}}, nil
}

// parseInput turns `name=value` into a literal of the variable's type. value is JSON; a bare word
// for a string variable needs no quotes (name=kubeshim).
func parseInput(arg string, vars map[string]*core.Variable) (string, *core.Literal, error) {
	name, raw, ok := strings.Cut(arg, "=")
	if !ok {
		return "", nil, fmt.Errorf("--input %q: want name=value", arg)
	}
	variable, found := vars[name]
	if !found {
		known := make([]string, 0, len(vars))
		for k := range vars {
			known = append(known, k)
		}
		sort.Strings(known)
		return "", nil, fmt.Errorf("--input %q: the workflow has no input %q (inputs: %s)", arg, name, strings.Join(known, ", "))
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		if variable.GetType().GetSimple() != core.SimpleType_STRING {
			return "", nil, fmt.Errorf("--input %s: value is not JSON: %w", name, err)
		}
		v = raw
	}
	l, err := literalFromJSON(v, variable.GetType())
	if err != nil {
		return "", nil, fmt.Errorf("--input %s: %w", name, err)
	}
	return name, l, nil
}

// executionInputs merges inputs like flyteadmin's validation.CheckAndFetchInputsForExecution: the launch
// plan's defaults, overridden by the request's inputs, plus its fixed inputs (which a request may not set);
// every required input must end up with a value.
func executionInputs(lp *admin.LaunchPlan, wfInterface *core.TypedInterface, given map[string]*core.Literal) (*core.LiteralMap, error) {
	out := map[string]*core.Literal{}
	params := lp.GetSpec().GetDefaultInputs().GetParameters()
	for name, p := range params {
		if p.GetDefault() != nil {
			out[name] = p.GetDefault()
		}
	}
	fixed := lp.GetSpec().GetFixedInputs().GetLiterals()
	for name, l := range given {
		if _, isFixed := fixed[name]; isFixed {
			return nil, fmt.Errorf("input %q is fixed by the launch plan", name)
		}
		out[name] = l
	}
	for name, l := range fixed {
		out[name] = l
	}
	for name := range wfInterface.GetInputs().GetVariables() {
		if _, ok := out[name]; ok {
			continue
		}
		if p, ok := params[name]; ok && !p.GetRequired() && p.GetDefault() == nil {
			continue
		}
		return nil, fmt.Errorf("required input %q is missing (give --input %s=...)", name, name)
	}
	return &core.LiteralMap{Literals: out}, nil
}

// plain turns a literal into an ordinary JSON value where there is an obvious one (primitives, lists,
// maps, none) and into protojson otherwise, so a test can compare outputs without flyteidl.
func plain(l *core.Literal) any {
	switch {
	case l.GetCollection() != nil:
		out := make([]any, 0, len(l.GetCollection().GetLiterals()))
		for _, item := range l.GetCollection().GetLiterals() {
			out = append(out, plain(item))
		}
		return out
	case l.GetMap() != nil:
		return plainMap(l.GetMap())
	case l.GetScalar().GetPrimitive() != nil:
		p := l.GetScalar().GetPrimitive()
		switch v := p.GetValue().(type) {
		case *core.Primitive_Integer:
			return v.Integer
		case *core.Primitive_FloatValue:
			return v.FloatValue
		case *core.Primitive_StringValue:
			return v.StringValue
		case *core.Primitive_Boolean:
			return v.Boolean
		case *core.Primitive_Datetime:
			return v.Datetime.AsTime().Format(time.RFC3339Nano)
		case *core.Primitive_Duration:
			return v.Duration.AsDuration().String()
		}
	case l.GetScalar().GetNoneType() != nil:
		return nil
	}
	raw, err := protojson.Marshal(l)
	if err != nil {
		return fmt.Sprintf("<unprintable literal: %v>", err)
	}
	return json.RawMessage(raw)
}

func plainMap(m *core.LiteralMap) map[string]any {
	out := make(map[string]any, len(m.GetLiterals()))
	for k, v := range m.GetLiterals() {
		out[k] = plain(v)
	}
	return out
}
