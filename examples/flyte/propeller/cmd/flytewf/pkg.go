package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/admin"
	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/core"
)

// entities is what one flytekit package holds, keyed by entity name (project/domain/version are
// empty in a package: registration fills them, see hydrate).
type entities struct {
	tasks       map[string]*admin.TaskSpec
	workflows   map[string]*admin.WorkflowSpec
	launchPlans map[string]*admin.LaunchPlan
}

// loadPackage reads a `pyflyte package` archive (.tgz) or a directory of serialized .pb files.
//
// flytekit names each file NN_<name>_<kind>.pb with kind 1 = TaskSpec, 2 = WorkflowSpec, 3 = LaunchPlan
// (flytekit.tools.serialize_helpers); the messages carry no type tag, so the suffix decides.
func loadPackage(path string) (*entities, error) {
	files := map[string][]byte{}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		matches, err := filepath.Glob(filepath.Join(path, "*.pb"))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				return nil, err
			}
			files[filepath.Base(m)] = b
		}
	} else if files, err = readTarGz(path); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no serialized entities (*.pb)", path)
	}

	e := &entities{tasks: map[string]*admin.TaskSpec{}, workflows: map[string]*admin.WorkflowSpec{},
		launchPlans: map[string]*admin.LaunchPlan{}}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := files[name]
		switch {
		case strings.HasSuffix(name, "_1.pb"):
			m := &admin.TaskSpec{}
			if err := proto.Unmarshal(raw, m); err != nil {
				return nil, fmt.Errorf("%s: not a TaskSpec: %w", name, err)
			}
			e.tasks[m.GetTemplate().GetId().GetName()] = m
		case strings.HasSuffix(name, "_2.pb"):
			m := &admin.WorkflowSpec{}
			if err := proto.Unmarshal(raw, m); err != nil {
				return nil, fmt.Errorf("%s: not a WorkflowSpec: %w", name, err)
			}
			e.workflows[m.GetTemplate().GetId().GetName()] = m
		case strings.HasSuffix(name, "_3.pb"):
			m := &admin.LaunchPlan{}
			if err := proto.Unmarshal(raw, m); err != nil {
				return nil, fmt.Errorf("%s: not a LaunchPlan: %w", name, err)
			}
			e.launchPlans[m.GetId().GetName()] = m
		}
	}
	return e, nil
}

func readTarGz(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".pb") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(h.Name)] = b
	}
}

// hydrate fills the empty project, domain and version of every Identifier in m, as registration
// (flytectl register / pyflyte register) does before flyteadmin ever sees an entity.
func hydrate(m proto.Message, project, domain, version string) {
	hydrateReflect(m.ProtoReflect(), project, domain, version)
}

var identifierName = (&core.Identifier{}).ProtoReflect().Descriptor().FullName()

func hydrateReflect(m protoreflect.Message, project, domain, version string) {
	if m.Descriptor().FullName() == identifierName {
		id := m.Interface().(*core.Identifier)
		if id.Project == "" {
			id.Project = project
		}
		if id.Domain == "" {
			id.Domain = domain
		}
		if id.Version == "" {
			id.Version = version
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				hydrateReflect(l.Get(i).Message(), project, domain, version)
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					hydrateReflect(mv.Message(), project, domain, version)
					return true
				})
			}
		default:
			hydrateReflect(v.Message(), project, domain, version)
		}
		return true
	})
}
