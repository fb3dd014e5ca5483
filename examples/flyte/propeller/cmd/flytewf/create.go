package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/admin"
	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/core"
	"github.com/flyteorg/flyte/flytepropeller/pkg/apis/flyteworkflow/v1alpha1"
	"github.com/flyteorg/flyte/flytepropeller/pkg/client/clientset/versioned"
	"github.com/flyteorg/flyte/flytepropeller/pkg/compiler"
	"github.com/flyteorg/flyte/flytepropeller/pkg/compiler/common"
	"github.com/flyteorg/flyte/flytepropeller/pkg/compiler/transformers/k8s"
	stdconfig "github.com/flyteorg/flyte/flytestdlib/config"
	"github.com/flyteorg/flyte/flytestdlib/config/viper"
	"github.com/flyteorg/flyte/flytestdlib/contextutils"
	"github.com/flyteorg/flyte/flytestdlib/promutils"
	"github.com/flyteorg/flyte/flytestdlib/promutils/labeled"
	"github.com/flyteorg/flyte/flytestdlib/storage"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// common flags of every command
type connection struct {
	config     string
	kubeconfig string
}

func (c *connection) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "propeller's config file (its storage: section says where blobs live)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server (default $KUBECONFIG)")
}

func (c *connection) restConfig() (*rest.Config, error) {
	if c.kubeconfig == "" {
		return nil, fmt.Errorf("no kubeconfig: give --kubeconfig or set KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "flytewf"
	return cfg, nil
}

// dataStore opens the blob store propeller uses, from the same config file.
func (c *connection) dataStore(ctx context.Context) (*storage.DataStore, error) {
	if c.config == "" {
		return nil, fmt.Errorf("no --config: the propeller config file is needed for its storage section")
	}
	if _, err := os.Stat(c.config); err != nil {
		return nil, err
	}
	acc := viper.NewAccessor(stdconfig.Options{StrictMode: false, SearchPaths: []string{c.config}})
	if err := acc.UpdateConfig(ctx); err != nil {
		return nil, fmt.Errorf("reading %s: %w", c.config, err)
	}
	metricKeysOnce.Do(func() { labeled.SetMetricKeys(contextutils.ProjectKey) })
	return storage.NewDataStore(storage.GetConfig(), promutils.NewScope("flytewf"))
}

// The storage layer's metrics are labeled; the labeled package insists on keys being declared once.
var metricKeysOnce sync.Once

type createOptions struct {
	connection
	pkg, launchPlan, workflow                 string
	project, domain, version, namespace, name string
	rawOutputPrefix, serviceAccount           string
	inputs, labels, annotations, envs         multiFlag
	inlineInputs, noCreateNamespace           bool
	maxParallelism, eventVersion              int
}

func runCreate(args []string, dryRun bool) error {
	o := createOptions{}
	fs := flag.NewFlagSet("create", flag.ExitOnError)
	o.register(fs)
	fs.StringVar(&o.pkg, "pkg", "", "output of `pyflyte package` (.tgz) or a directory of serialized .pb files")
	fs.StringVar(&o.launchPlan, "launchplan", "", "launch plan to execute (flytekit makes one per workflow, named like it)")
	fs.StringVar(&o.workflow, "workflow", "", "workflow to execute when there is no launch plan (all inputs then required)")
	fs.StringVar(&o.project, "project", "flytesnacks", "Flyte project")
	fs.StringVar(&o.domain, "domain", "development", "Flyte domain")
	fs.StringVar(&o.version, "version", "v1", "version given to the package's entities, as registration does")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the FlyteWorkflow (default {project}-{domain}, flyteadmin's default mapping)")
	fs.StringVar(&o.name, "name", "", "execution name (default: a random 20-character name like flyteadmin's)")
	fs.StringVar(&o.rawOutputPrefix, "raw-output-prefix", "", "raw output data prefix of this execution (default: propeller's rawoutput-prefix)")
	fs.StringVar(&o.serviceAccount, "service-account", "", "Kubernetes service account the task pods run as")
	fs.Var(&o.inputs, "input", "an input, name=JSON value (repeatable)")
	fs.Var(&o.labels, "label", "extra execution label, key=value (repeatable)")
	fs.Var(&o.annotations, "annotation", "extra execution annotation, key=value (repeatable)")
	fs.Var(&o.envs, "env", "environment variable for every task, KEY=value (repeatable)")
	fs.BoolVar(&o.inlineInputs, "inline-inputs", false, "put the inputs in the FlyteWorkflow instead of referencing the offloaded blob")
	fs.BoolVar(&o.noCreateNamespace, "no-create-namespace", false, "fail if the namespace does not exist instead of creating it")
	fs.IntVar(&o.maxParallelism, "max-parallelism", 25, "max parallel nodes (flyteadmin's default is 25)")
	fs.IntVar(&o.eventVersion, "event-version", 2, "WorkflowMeta.EventVersion (flyteadmin's default is 2)")
	_ = fs.Parse(args)
	if o.pkg == "" || (o.launchPlan == "" && o.workflow == "") {
		return fmt.Errorf("--pkg and one of --launchplan/--workflow are required")
	}
	if o.namespace == "" {
		o.namespace = o.project + "-" + o.domain
	}
	if o.name == "" {
		o.name = executionName()
	}

	ctx := context.Background()
	wf, err := o.build(ctx, dryRun)
	if err != nil {
		return err
	}
	if dryRun {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(wf)
	}
	restCfg, err := o.restConfig()
	if err != nil {
		return err
	}
	if !o.noCreateNamespace {
		if err := ensureNamespace(ctx, restCfg, o.namespace); err != nil {
			return err
		}
	}
	flyteClient, err := versioned.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	// Like flyteadmin: an AlreadyExists is not an error (a retried create of the same execution).
	_, err = flyteClient.FlyteworkflowV1alpha1().FlyteWorkflows(o.namespace).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil && !k8serrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating FlyteWorkflow %s/%s: %w", o.namespace, o.name, err)
	}
	fmt.Println(o.name)
	return nil
}

// build does flyteadmin's part: compile, merge inputs, offload them, BuildFlyteWorkflow, PrepareFlyteWorkflow.
func (o *createOptions) build(ctx context.Context, dryRun bool) (*v1alpha1.FlyteWorkflow, error) {
	ents, err := loadPackage(o.pkg)
	if err != nil {
		return nil, err
	}
	for _, t := range ents.tasks {
		hydrate(t, o.project, o.domain, o.version)
	}
	for _, w := range ents.workflows {
		hydrate(w, o.project, o.domain, o.version)
	}
	for _, lp := range ents.launchPlans {
		hydrate(lp, o.project, o.domain, o.version)
	}

	lp, wfSpec, err := o.pick(ents)
	if err != nil {
		return nil, err
	}

	// Registration compiles each task; execution compiles the workflow against them (flyteadmin keeps the
	// compiled closure from workflow registration; the result is the same).
	tasks := make([]*core.CompiledTask, 0, len(ents.tasks))
	for name, t := range ents.tasks {
		ct, err := compiler.CompileTask(t.GetTemplate())
		if err != nil {
			return nil, fmt.Errorf("compiling task %s: %w", name, err)
		}
		tasks = append(tasks, ct)
	}
	reqs, err := compiler.GetRequirements(wfSpec.GetTemplate(), wfSpec.GetSubWorkflows())
	if err != nil {
		return nil, fmt.Errorf("requirements of %s: %w", wfSpec.GetTemplate().GetId().GetName(), err)
	}
	var lps []common.InterfaceProvider
	for _, id := range reqs.GetRequiredLaunchPlanIds() {
		ref, ok := ents.launchPlans[id.GetName()]
		if !ok {
			return nil, fmt.Errorf("launch plan %s is referenced but not in the package", id.GetName())
		}
		withClosure, err := launchPlanWithClosure(ref, ents)
		if err != nil {
			return nil, err
		}
		lps = append(lps, compiler.NewLaunchPlanInterfaceProvider(withClosure))
	}
	closure, err := compiler.CompileWorkflow(wfSpec.GetTemplate(), wfSpec.GetSubWorkflows(), tasks, lps)
	if err != nil {
		return nil, fmt.Errorf("compiling workflow %s: %w", wfSpec.GetTemplate().GetId().GetName(), err)
	}

	wfInterface := closure.GetPrimary().GetTemplate().GetInterface()
	given := map[string]*core.Literal{}
	for _, arg := range o.inputs {
		name, lit, err := parseInput(arg, wfInterface.GetInputs().GetVariables())
		if err != nil {
			return nil, err
		}
		given[name] = lit
	}
	inputs, err := executionInputs(lp, wfInterface, given)
	if err != nil {
		return nil, err
	}

	execID := &core.WorkflowExecutionIdentifier{Project: o.project, Domain: o.domain, Name: o.name}
	wf, err := k8s.BuildFlyteWorkflow(closure, inputs, execID, o.namespace)
	if err != nil {
		return nil, fmt.Errorf("building the FlyteWorkflow: %w", err)
	}
	o.prepare(wf, lp, execID)

	// flyteadmin always writes the execution inputs to <base container>/metadata/<project>/<domain>/<name>/inputs
	// (common.OffloadLiteralMap); with offloaded inputs the FlyteWorkflow only references that blob.
	if !dryRun {
		store, err := o.dataStore(ctx)
		if err != nil {
			return nil, err
		}
		ref, err := store.ConstructReference(ctx, store.GetBaseContainerFQN(ctx), "metadata", o.project, o.domain, o.name, "inputs")
		if err != nil {
			return nil, err
		}
		if err := store.WriteProtobuf(ctx, ref, storage.Options{}, inputs); err != nil {
			return nil, fmt.Errorf("offloading inputs to %s: %w", ref, err)
		}
		if !o.inlineInputs {
			wf.OffloadedInputs = ref
			wf.Inputs = nil
		}
	}
	return wf, nil
}

// pick finds the launch plan (or bare workflow) to run and its workflow spec.
func (o *createOptions) pick(ents *entities) (*admin.LaunchPlan, *admin.WorkflowSpec, error) {
	if o.launchPlan != "" {
		lp, ok := ents.launchPlans[o.launchPlan]
		if !ok {
			return nil, nil, fmt.Errorf("no launch plan %q in %s (have: %s)", o.launchPlan, o.pkg, keys(ents.launchPlans))
		}
		wfName := lp.GetSpec().GetWorkflowId().GetName()
		wfSpec, ok := ents.workflows[wfName]
		if !ok {
			return nil, nil, fmt.Errorf("launch plan %s runs workflow %s, which is not in the package", o.launchPlan, wfName)
		}
		return lp, wfSpec, nil
	}
	wfSpec, ok := ents.workflows[o.workflow]
	if !ok {
		return nil, nil, fmt.Errorf("no workflow %q in %s (have: %s)", o.workflow, o.pkg, keys(ents.workflows))
	}
	return &admin.LaunchPlan{Spec: &admin.LaunchPlanSpec{WorkflowId: wfSpec.GetTemplate().GetId()}}, wfSpec, nil
}

// prepare sets what flyteadmin's PrepareFlyteWorkflow sets on top of the transformer's output.
func (o *createOptions) prepare(wf *v1alpha1.FlyteWorkflow, lp *admin.LaunchPlan, execID *core.WorkflowExecutionIdentifier) {
	wf.ExecutionID = v1alpha1.WorkflowExecutionIdentifier{WorkflowExecutionIdentifier: execID}
	now := metav1.NewTime(time.Now())
	wf.AcceptedAt = &now

	runAs := &core.Identity{K8SServiceAccount: o.serviceAccount}
	wf.SecurityContext = core.SecurityContext{RunAs: runAs}
	if o.serviceAccount != "" {
		wf.ServiceAccountName = o.serviceAccount
	}

	// Execution labels/annotations: the launch plan's, then the request's; the transformer's
	// (execution-id, project, domain, workflow-name, shard-key) stay.
	labels := map[string]string{}
	for k, v := range lp.GetSpec().GetLabels().GetValues() {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range lp.GetSpec().GetAnnotations().GetValues() {
		annotations[k] = v
	}
	for _, kv := range o.labels {
		k, v, _ := strings.Cut(kv, "=")
		labels[k] = v
	}
	for _, kv := range o.annotations {
		k, v, _ := strings.Cut(kv, "=")
		annotations[k] = v
	}
	for k, v := range labels {
		wf.Labels[k] = v
	}
	if len(annotations) > 0 {
		if wf.Annotations == nil {
			wf.Annotations = map[string]string{}
		}
		for k, v := range annotations {
			wf.Annotations[k] = v
		}
	}

	if wf.WorkflowMeta == nil {
		wf.WorkflowMeta = &v1alpha1.WorkflowMeta{}
	}
	wf.WorkflowMeta.EventVersion = v1alpha1.EventVersion(o.eventVersion)

	envs := map[string]string{}
	for _, kv := range o.envs {
		k, v, _ := strings.Cut(kv, "=")
		envs[k] = v
	}
	wf.ExecutionConfig = v1alpha1.ExecutionConfig{
		TaskPluginImpls:      map[string]v1alpha1.TaskPluginOverride{},
		MaxParallelism:       uint32(o.maxParallelism),
		EnvironmentVariables: envs,
	}

	prefix := o.rawOutputPrefix
	if prefix == "" {
		prefix = lp.GetSpec().GetRawOutputDataConfig().GetOutputLocationPrefix()
	}
	if prefix != "" {
		wf.RawOutputDataConfig = v1alpha1.RawOutputDataConfig{
			RawOutputDataConfig: &admin.RawOutputDataConfig{OutputLocationPrefix: prefix}}
	}
}

// launchPlanWithClosure computes a referenced launch plan's expected inputs/outputs, as flyteadmin does
// when the launch plan is registered, so the compiler can type-check a launch-plan node.
func launchPlanWithClosure(lp *admin.LaunchPlan, ents *entities) (*admin.LaunchPlan, error) {
	wfSpec, ok := ents.workflows[lp.GetSpec().GetWorkflowId().GetName()]
	if !ok {
		return nil, fmt.Errorf("launch plan %s runs workflow %s, which is not in the package",
			lp.GetId().GetName(), lp.GetSpec().GetWorkflowId().GetName())
	}
	iface := wfSpec.GetTemplate().GetInterface()
	expected := &core.ParameterMap{Parameters: map[string]*core.Parameter{}}
	fixed := lp.GetSpec().GetFixedInputs().GetLiterals()
	for name, v := range iface.GetInputs().GetVariables() {
		if _, isFixed := fixed[name]; isFixed {
			continue
		}
		if p, ok := lp.GetSpec().GetDefaultInputs().GetParameters()[name]; ok {
			expected.Parameters[name] = p
		} else {
			expected.Parameters[name] = &core.Parameter{Var: v, Behavior: &core.Parameter_Required{Required: true}}
		}
	}
	out := &admin.LaunchPlan{Id: lp.GetId(), Spec: lp.GetSpec(),
		Closure: &admin.LaunchPlanClosure{ExpectedInputs: expected, ExpectedOutputs: iface.GetOutputs()}}
	return out, nil
}

func ensureNamespace(ctx context.Context, cfg *rest.Config, name string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !k8serrors.IsNotFound(err) {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !k8serrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// executionName is like flyteadmin's generated names: a letter, then 19 lowercase letters and digits.
func executionName() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	const alnum = letters + "0123456789"
	b := make([]byte, 20)
	for i := range b {
		set := alnum
		if i == 0 {
			set = letters
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			panic(err)
		}
		b[i] = set[n.Int64()]
	}
	return string(b)
}

func keys[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ", ")
}
