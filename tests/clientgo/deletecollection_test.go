package clientgo

// DeleteCollection with set-based label selectors: the typed path (protobuf DeleteOptions body) and the
// dynamic path flytepropeller's garbage collector takes on FlyteWorkflows.

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

func TestDeleteCollectionWithSetBasedSelector(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	cms := cs.CoreV1().ConfigMaps(ns)
	for name, labels := range map[string]map[string]string{
		"a1": {"env": "a"}, "a2": {"env": "a"}, "b1": {"env": "b"}, "c1": {"env": "c"}, "none": nil,
	} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)},
		metav1.ListOptions{LabelSelector: "env in (a,b)"}); err != nil {
		t.Fatalf("deletecollection: %v", err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range list.Items {
		if cm.Name != "kube-root-ca.crt" { // published into every namespace by a real control plane
			names = append(names, cm.Name)
		}
	}
	expectEqual(t, "configmaps left after deleting env in (a,b)", sortedStrings(names), []string{"c1", "none"})
	for _, req := range rec.Matching("DELETE", "/configmaps") {
		if req.ContentType != "" && req.ContentType != Protobuf {
			t.Errorf("DeleteOptions body sent as %q, want protobuf", req.ContentType)
		}
	}
}

func TestDeleteCollectionFlyteGarbageCollectorSelector(t *testing.T) {
	t.Parallel()
	cfg, _ := newConfig(t)
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	crd := createCRD(t, cfg)
	ctx := testContext(t, 60*time.Second)
	widgets := dynamic.NewForConfigOrDie(cfg).Resource(crd.GVR).Namespace(ns)
	objects := map[string]map[string]any{
		"done-old":     {"termination-status": "terminated", "completed-time": "2025-01-01.00"},
		"done-recent":  {"termination-status": "terminated", "completed-time": "2025-01-02.05"},
		"done-tagged":  {"termination-status": "terminated", "completed-time": "2025-01-01.00", "hour-of-day": "3"},
		"running":      {"termination-status": "running"},
		"no-labels-at": nil,
	}
	for name, labels := range objects {
		if _, err := widgets.Create(ctx, newWidget(crd, name, labels, map[string]any{"size": int64(1)}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The shape of propeller's GC selector: equality, notin over the kept hours, and a key that must be absent.
	selector := "termination-status=terminated,completed-time notin (2025-01-02.04,2025-01-02.05),!hour-of-day"
	if err := widgets.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0),
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}, metav1.ListOptions{LabelSelector: selector}); err != nil {
		t.Fatalf("deletecollection: %v", err)
	}
	list, err := widgets.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	expectEqual(t, fmt.Sprintf("widgets left after deleting %q", selector), sortedStrings(names),
		[]string{"done-recent", "done-tagged", "no-labels-at", "running"})
}
