package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/core"
	"github.com/flyteorg/flyte/flytepropeller/pkg/apis/flyteworkflow/v1alpha1"
	"github.com/flyteorg/flyte/flytepropeller/pkg/client/clientset/versioned"
)

type errorSummary struct {
	Code    string `json:"code,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
}

type nodeSummary struct {
	Phase    string        `json:"phase"`
	Attempts uint32        `json:"attempts,omitempty"`
	Message  string        `json:"message,omitempty"`
	Error    *errorSummary `json:"error,omitempty"`
}

type summary struct {
	Namespace      string                 `json:"namespace"`
	Name           string                 `json:"name"`
	Phase          string                 `json:"phase"`
	Terminal       bool                   `json:"terminal"`
	Message        string                 `json:"message,omitempty"`
	FailedAttempts uint32                 `json:"failedAttempts,omitempty"`
	Error          *errorSummary          `json:"error,omitempty"`
	StartedAt      *metav1.Time           `json:"startedAt,omitempty"`
	StoppedAt      *metav1.Time           `json:"stoppedAt,omitempty"`
	AcceptedAt     *metav1.Time           `json:"acceptedAt,omitempty"`
	Deleting       bool                   `json:"deleting,omitempty"`
	Finalizers     []string               `json:"finalizers,omitempty"`
	Labels         map[string]string      `json:"labels,omitempty"`
	Nodes          map[string]nodeSummary `json:"nodes,omitempty"`
	OutputRef      string                 `json:"outputRef,omitempty"`
	Outputs        map[string]any         `json:"outputs,omitempty"`
}

func errSummary(e *core.ExecutionError) *errorSummary {
	if e == nil {
		return nil
	}
	return &errorSummary{Code: e.GetCode(), Kind: e.GetKind().String(), Message: e.GetMessage()}
}

func runGet(args []string, wait bool) error {
	var c connection
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	c.register(fs)
	namespace := fs.String("n", "flytesnacks-development", "namespace")
	timeout := fs.Duration("timeout", 5*time.Minute, "wait: give up after this long")
	// Go's flag package stops at the first positional argument: accept the name anywhere.
	var name string
	rest := args
	for len(rest) > 0 {
		_ = fs.Parse(rest)
		rest = fs.Args()
		if len(rest) > 0 {
			if name != "" {
				return fmt.Errorf("one execution name, please (got %q and %q)", name, rest[0])
			}
			name, rest = rest[0], rest[1:]
		}
	}
	if name == "" {
		return fmt.Errorf("usage: flytewf get|wait [flags] NAME")
	}
	ctx := context.Background()
	restCfg, err := c.restConfig()
	if err != nil {
		return err
	}
	cs, err := versioned.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	for {
		wf, err := cs.FlyteworkflowV1alpha1().FlyteWorkflows(*namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if k8serrors.IsNotFound(err) {
				return fmt.Errorf("execution %s/%s not found", *namespace, name)
			}
			if !wait || time.Now().After(deadline) {
				return err
			}
			time.Sleep(time.Second) // the API server may be restarting
			continue
		}
		s := summarize(wf)
		if s.Terminal || !wait || time.Now().After(deadline) {
			if s.Phase == v1alpha1.WorkflowPhaseSuccess.String() && s.OutputRef != "" && c.config != "" {
				if s.Outputs, err = readOutputs(ctx, &c, s.OutputRef); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(s); err != nil {
				return err
			}
			if wait && !s.Terminal {
				return fmt.Errorf("execution %s/%s still %s after %v", *namespace, name, s.Phase, *timeout)
			}
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func summarize(wf *v1alpha1.FlyteWorkflow) summary {
	st := wf.Status
	s := summary{
		Namespace: wf.Namespace, Name: wf.Name, Phase: st.Phase.String(),
		Terminal: v1alpha1.IsWorkflowPhaseTerminal(st.Phase), Message: st.Message,
		FailedAttempts: st.FailedAttempts, StartedAt: st.StartedAt, StoppedAt: st.StoppedAt,
		AcceptedAt: wf.AcceptedAt, Deleting: wf.DeletionTimestamp != nil, Finalizers: wf.Finalizers,
		Labels: wf.Labels, OutputRef: string(st.OutputReference), Nodes: map[string]nodeSummary{},
	}
	if st.Error != nil {
		s.Error = errSummary(st.Error.ExecutionError)
	}
	for id, n := range st.NodeStatus {
		if n == nil {
			continue
		}
		ns := nodeSummary{Phase: n.Phase.String(), Attempts: n.Attempts, Message: n.Message}
		if n.Error != nil {
			ns.Error = errSummary(n.Error.ExecutionError)
		}
		s.Nodes[id] = ns
	}
	return s
}

func readOutputs(ctx context.Context, c *connection, ref string) (map[string]any, error) {
	store, err := c.dataStore(ctx)
	if err != nil {
		return nil, err
	}
	m := &core.LiteralMap{}
	if err := store.ReadProtobuf(ctx, v1alpha1.DataReference(ref), m); err != nil {
		return nil, fmt.Errorf("reading outputs %s: %w", ref, err)
	}
	return plainMap(m), nil
}
