package clientgo

// Other client-go paths flytepropeller takes: removing a pod finalizer with a merge patch after deletion,
// publishing events through client-go's event recorder (which aggregates repeats with strategic merge
// patches), and an all-namespaces pod informer.

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

func TestPodFinalizerRemovedByMergePatchAfterDelete(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 30*time.Second)
	pods := cs.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "task", Finalizers: []string{"flyte.org/finalizer-k8s"}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "python:3.11"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "task", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	held, err := pods.Get(ctx, "task", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a pod with a finalizer must survive its delete: %v", err)
	}
	if held.DeletionTimestamp == nil {
		t.Fatalf("deleted pod with a finalizer has no deletionTimestamp")
	}
	if _, err := pods.Patch(ctx, "task", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`),
		metav1.PatchOptions{}); err != nil {
		t.Fatalf("merge patch removing the finalizer: %v", err)
	}
	eventually(t, 10*time.Second, "the pod to go once its finalizer is removed", func() (bool, error) {
		_, err := pods.Get(ctx, "task", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func TestEventRecorderAggregatesRepeatedEvents(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 30*time.Second)
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "subject"}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events(ns)})
	t.Cleanup(broadcaster.Shutdown)
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "flytepropeller"})
	for i := 0; i < 3; i++ {
		recorder.Event(cm, corev1.EventTypeNormal, "Synced", "workflow synced")
	}
	eventually(t, 15*time.Second, "one event with count 3", func() (bool, error) {
		list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=subject,reason=Synced"})
		if err != nil {
			return false, err
		}
		return len(list.Items) == 1 && list.Items[0].Count == 3 && list.Items[0].Source.Component == "flytepropeller", nil
	})
	if len(rec.Matching("PATCH", "/events/")) == 0 {
		t.Errorf("the recorder did not aggregate repeats with a PATCH")
	}
}

func TestPodInformerAcrossAllNamespaces(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	nsA, nsB := testNamespace(t, cs), testNamespace(t, cs)
	ctx := testContext(t, 30*time.Second)
	factory := informers.NewSharedInformerFactory(cs, 0)
	inf := factory.Core().V1().Pods().Informer()
	failOnWatchErrors(t, inf)
	startFactory(t, factory)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "python:3.11"}}}
	for _, ns := range []string{nsA, nsB} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "pods of both namespaces in the cluster-wide informer", func() (bool, error) {
		_, a, _ := inf.GetStore().GetByKey(nsA + "/p")
		_, b, _ := inf.GetStore().GetByKey(nsB + "/p")
		return a && b, nil
	})
}
