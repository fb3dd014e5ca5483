package clientgo

// Typed clientset CRUD on the built-in kinds Flyte uses. client-go >= 0.32 sends these bodies as Kubernetes
// protobuf; every test asserts that on the wire and reads the stored object back as JSON to check that the
// server decoded the fields protobuf makes awkward (Quantity, Time, MicroTime, IntOrString, bytes).

import (
	"bytes"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestTypedPodCRUDOverProtobuf(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	pods := cs.CoreV1().Pods(ns)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p1", Labels: map[string]string{"app": "demo", "execution-id": "e1"},
			Annotations: map[string]string{"primary_container_name": "main"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers: []corev1.Container{{
				Name: "main", Image: "python:3.11", Command: []string{"python", "-c"}, Args: []string{"print(1)"},
				Env: []corev1.EnvVar{{Name: "FLYTE_INTERNAL_X", Value: "1"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"),
						corev1.ResourceMemory: resource.MustParse("1Gi")},
					Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"),
						corev1.ResourceMemory: resource.MustParse("1536Mi")},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, PeriodSeconds: 3},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}},
				Ports:                    []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
		},
	}
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() {
		t.Errorf("server did not set uid/resourceVersion/creationTimestamp: %+v", created.ObjectMeta)
	}
	if got := created.Spec.Containers[0].Resources.Requests.Cpu().MilliValue(); got != 500 {
		t.Errorf("cpu request after create: %dm, want 500m", got)
	}

	stored := rawJSON(t, ctx, cs.CoreV1().RESTClient(), "/api/v1/namespaces/"+ns+"/pods/p1")
	expectEqual(t, "stored cpu request", dig(stored, "spec", "containers", 0, "resources", "requests", "cpu"), "500m")
	expectEqual(t, "stored memory limit", dig(stored, "spec", "containers", 0, "resources", "limits", "memory"), "1536Mi")
	expectEqual(t, "stored named probe port", dig(stored, "spec", "containers", 0, "readinessProbe", "tcpSocket", "port"), "http")
	expectEqual(t, "stored numeric probe port", dig(stored, "spec", "containers", 0, "livenessProbe", "httpGet", "port"), 8080)
	expectEqual(t, "stored args", dig(stored, "spec", "containers", 0, "args", 0), "print(1)")
	expectEqual(t, "stored grace", dig(stored, "spec", "terminationGracePeriodSeconds"), 5)

	got, err := pods.Get(ctx, "p1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got.Labels["phase"] = "two"
	updated, err := pods.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Labels["phase"] != "two" || updated.ResourceVersion == got.ResourceVersion {
		t.Errorf("update not applied: labels=%v rv %s -> %s", updated.Labels, got.ResourceVersion, updated.ResourceVersion)
	}

	// A stale resourceVersion is a 409 Conflict, the signal optimistic-concurrency callers rely on.
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with stale resourceVersion: got %v, want Conflict", err)
	}

	now := metav1.NewTime(time.Now().Truncate(time.Second))
	updated.Status.Phase = corev1.PodRunning
	updated.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
		LastTransitionTime: now}}
	updated.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Ready: true, Image: "python:3.11",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	withStatus, err := pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if withStatus.Status.Phase != corev1.PodRunning || !withStatus.Status.ContainerStatuses[0].State.Running.StartedAt.Equal(&now) {
		t.Errorf("status not stored: %+v", withStatus.Status)
	}

	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=demo,phase in (two)"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "p1" {
		t.Errorf("list by label selector: %d items", len(list.Items))
	}

	if err := pods.Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0),
		Preconditions: &metav1.Preconditions{UID: &created.UID}}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	eventually(t, 10*time.Second, "pod p1 to be gone", func() (bool, error) {
		_, err := pods.Get(ctx, "p1", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	assertProtobufWrites(t, rec, "/pods", "POST", "PUT")
}

func TestTypedLeaseCRUDOverProtobuf(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	leases := cs.CoordinationV1().Leases(ns)

	acquire := metav1.NewMicroTime(time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "leader"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a"), LeaseDurationSeconds: ptr.To[int32](15),
			AcquireTime: &acquire, RenewTime: &acquire, LeaseTransitions: ptr.To[int32](0)},
	}
	created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !created.Spec.RenewTime.Equal(&acquire) {
		t.Errorf("renewTime round trip: got %v, want %v", created.Spec.RenewTime, acquire)
	}
	stored := rawJSON(t, ctx, cs.CoordinationV1().RESTClient(), "/apis/coordination.k8s.io/v1/namespaces/"+ns+"/leases/leader")
	expectEqual(t, "stored renewTime (MicroTime)", dig(stored, "spec", "renewTime"), "2025-03-04T05:06:07.123456Z")
	expectEqual(t, "stored holder", dig(stored, "spec", "holderIdentity"), "a")
	expectEqual(t, "stored duration", dig(stored, "spec", "leaseDurationSeconds"), 15)

	renew := metav1.NewMicroTime(acquire.Add(2*time.Second + 500*time.Microsecond))
	created.Spec.RenewTime = &renew
	created.Spec.HolderIdentity = ptr.To("b")
	created.Spec.LeaseTransitions = ptr.To[int32](1)
	updated, err := leases.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if *updated.Spec.HolderIdentity != "b" || !updated.Spec.RenewTime.Equal(&renew) || *updated.Spec.LeaseTransitions != 1 {
		t.Errorf("update not applied: %+v", updated.Spec)
	}
	if _, err := leases.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("second update from the same resourceVersion: got %v, want Conflict", err)
	}
	list, err := leases.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v (%d items)", err, len(list.Items))
	}
	if err := leases.Delete(ctx, "leader", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := leases.Get(ctx, "leader", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
	assertProtobufWrites(t, rec, "/leases", "POST", "PUT")
}

func TestTypedSecretCRUDOverProtobuf(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	secrets := cs.CoreV1().Secrets(ns)

	binary := []byte{0x00, 0xff, 0x80, 'k', '8', 's', 0x00, 0x0a}
	created, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s1", Labels: map[string]string{"k": "v"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"bin": binary, "text": []byte("hello")},
		StringData: map[string]string{"plain": "from-stringData"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !bytes.Equal(created.Data["bin"], binary) {
		t.Errorf("binary data round trip: got %v, want %v", created.Data["bin"], binary)
	}
	if string(created.Data["plain"]) != "from-stringData" {
		t.Errorf("stringData not merged into data: %v", created.Data)
	}
	stored := rawJSON(t, ctx, cs.CoreV1().RESTClient(), "/api/v1/namespaces/"+ns+"/secrets/s1")
	expectEqual(t, "stored binary data (base64)", dig(stored, "data", "bin"), "AP+AazhzAAo=")
	expectEqual(t, "stored type", dig(stored, "type"), "Opaque")

	created.Data["text"] = []byte("changed")
	updated, err := secrets.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if string(updated.Data["text"]) != "changed" {
		t.Errorf("update not applied: %q", updated.Data["text"])
	}
	got, err := secrets.Get(ctx, "s1", metav1.GetOptions{})
	if err != nil || string(got.Data["text"]) != "changed" || !bytes.Equal(got.Data["bin"], binary) {
		t.Errorf("get after update: %v %v", err, got.Data)
	}
	if err := secrets.Delete(ctx, "s1", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	assertProtobufWrites(t, rec, "/secrets", "POST", "PUT")
}

func TestTypedConfigMapCRUDOverProtobuf(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	cms := cs.CoreV1().ConfigMaps(ns)

	created, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cm-", Annotations: map[string]string{"a": "b"}},
		Data:       map[string]string{"config.yaml": "x: 1\ny: [2, 3]\n", "empty": ""},
		BinaryData: map[string][]byte{"blob": {1, 2, 3}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(created.Name) != len("cm-")+5 {
		t.Errorf("generateName: got %q, want cm- plus 5 characters", created.Name)
	}
	stored := rawJSON(t, ctx, cs.CoreV1().RESTClient(), "/api/v1/namespaces/"+ns+"/configmaps/"+created.Name)
	expectEqual(t, "stored data", dig(stored, "data", "config.yaml"), "x: 1\ny: [2, 3]\n")
	expectEqual(t, "stored empty value", dig(stored, "data", "empty"), "")
	expectEqual(t, "stored binaryData", dig(stored, "binaryData", "blob"), "AQID")

	created.Data["extra"] = "1"
	updated, err := cms.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Data["extra"] != "1" || updated.Data["empty"] != "" || len(updated.BinaryData["blob"]) != 3 {
		t.Errorf("update: %+v", updated)
	}
	list, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + created.Name})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list by field selector: %v (%d items)", err, len(list.Items))
	}
	if err := cms.Delete(ctx, created.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cms.Get(ctx, created.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
	assertProtobufWrites(t, rec, "/configmaps", "POST", "PUT")
}

func TestTypedCoreEventCRUDOverProtobuf(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	events := cs.CoreV1().Events(ns)

	first := metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	created, err := events.Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "p1.abc"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p1", APIVersion: "v1", UID: "u-1"},
		Reason:         "Started", Message: "started container main", Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: first, LastTimestamp: first, Count: 1,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !created.FirstTimestamp.Equal(&first) {
		t.Errorf("firstTimestamp: got %v, want %v", created.FirstTimestamp, first)
	}
	stored := rawJSON(t, ctx, cs.CoreV1().RESTClient(), "/api/v1/namespaces/"+ns+"/events/p1.abc")
	expectEqual(t, "stored firstTimestamp", dig(stored, "firstTimestamp"), "2025-01-02T03:04:05Z")
	expectEqual(t, "stored involvedObject.name", dig(stored, "involvedObject", "name"), "p1")

	created.Count = 2
	created.LastTimestamp = metav1.NewTime(first.Add(time.Minute))
	if _, err := events.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	list, err := events.List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=p1,involvedObject.kind=Pod,reason=Started"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Count != 2 {
		t.Errorf("list by involvedObject field selector: %+v", list.Items)
	}
	none, err := events.List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=other"})
	if err != nil || len(none.Items) != 0 {
		t.Errorf("non-matching field selector: %v, %d items", err, len(none.Items))
	}
	if err := events.Delete(ctx, "p1.abc", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	assertProtobufWrites(t, rec, "/events", "POST", "PUT")
}

func TestTypedEventsV1CRUDOverProtobuf(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	events := cs.EventsV1().Events(ns)

	when := metav1.NewMicroTime(time.Date(2025, 6, 7, 8, 9, 10, 654321000, time.UTC))
	created, err := events.Create(ctx, &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "wf.123"},
		EventTime:           when,
		ReportingController: "flyte.org/propeller", ReportingInstance: "propeller-0",
		Action: "Reconcile", Reason: "Succeeded", Note: "workflow done", Type: "Normal",
		Regarding: corev1.ObjectReference{Kind: "FlyteWorkflow", Namespace: ns, Name: "wf", APIVersion: "flyte.lyft.com/v1alpha1"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !created.EventTime.Equal(&when) {
		t.Errorf("eventTime round trip: got %v, want %v", created.EventTime, when)
	}
	stored := rawJSON(t, ctx, cs.EventsV1().RESTClient(), "/apis/events.k8s.io/v1/namespaces/"+ns+"/events/wf.123")
	expectEqual(t, "stored eventTime (MicroTime)", dig(stored, "eventTime"), "2025-06-07T08:09:10.654321Z")

	created.Note = "updated"
	if _, err := events.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	list, err := events.List(ctx, metav1.ListOptions{FieldSelector: "regarding.kind=FlyteWorkflow,regarding.name=wf"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Note != "updated" {
		t.Errorf("list by regarding field selector: %+v", list.Items)
	}
	if err := events.Delete(ctx, "wf.123", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	assertProtobufWrites(t, rec, "/events", "POST", "PUT")
}

func TestTypedPodLabelUpdateKeepsSpecAndGeneration(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 30*time.Second)
	pods := cs.CoreV1().Pods(ns)
	// No resources, no probes: the protobuf body carries empty structs the server defaulted on create.
	created, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "python:3.11"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Labels = map[string]string{"touched": "yes"}
	updated, err := pods.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("label-only update of the object create returned: %v", err)
	}
	if updated.Generation != created.Generation {
		t.Errorf("a label-only update changed generation %d -> %d", created.Generation, updated.Generation)
	}
}
