package clientgo

// A controller-runtime manager (cache, client, REST mapper, leader election) reconciling a custom resource:
// it writes an owned ConfigMap, an annotation (merge patch) and the status subresource, and the server's
// garbage collector removes the ConfigMap with its owner.

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/go-logr/logr"
)

func init() {
	// controller-runtime complains loudly when no logger is set; tests have nothing to say through it.
	log.SetLogger(logr.Discard())
}

type widgetReconciler struct {
	client.Client
	gvk schema.GroupVersionKind
}

func (r *widgetReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	widget := &unstructured.Unstructured{}
	widget.SetGroupVersionKind(r.gvk)
	if err := r.Get(ctx, req.NamespacedName, widget); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if widget.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, nil
	}
	size, _, _ := unstructured.NestedInt64(widget.Object, "spec", "size")

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: widget.GetName() + "-cfg", Namespace: widget.GetNamespace()}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		cm.Data = map[string]string{"size": strconv.FormatInt(size, 10)}
		return controllerutil.SetControllerReference(widget, cm, r.Scheme())
	}); err != nil {
		return reconcile.Result{}, err
	}

	if widget.GetAnnotations()["kubeshim.test/reconciled"] != "true" {
		patch := client.MergeFrom(widget.DeepCopy())
		annotations := widget.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations["kubeshim.test/reconciled"] = "true"
		widget.SetAnnotations(annotations)
		if err := r.Patch(ctx, widget, patch); err != nil {
			return reconcile.Result{}, err
		}
	}

	observed, _, _ := unstructured.NestedInt64(widget.Object, "status", "observedSize")
	phase, _, _ := unstructured.NestedString(widget.Object, "status", "phase")
	if observed != size || phase != "Ready" {
		if err := unstructured.SetNestedMap(widget.Object, map[string]any{"observedSize": size, "phase": "Ready"}, "status"); err != nil {
			return reconcile.Result{}, err
		}
		if err := r.Status().Update(ctx, widget); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}

func TestControllerRuntimeManagerReconcilesCustomResource(t *testing.T) {
	t.Parallel()
	cfg, rec := newConfig(t)
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	crd := createCRD(t, cfg)
	ctx := testContext(t, 90*time.Second)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, manager.Options{
		Scheme:                        scheme,
		Cache:                         crcache.Options{DefaultNamespaces: map[string]crcache.Config{ns: {}}},
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              "widgets-controller",
		LeaderElectionNamespace:       ns,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(2 * time.Second),
		RenewDeadline:                 ptr.To(1500 * time.Millisecond),
		RetryPeriod:                   ptr.To(200 * time.Millisecond),
		Controller:                    crconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("manager: %v", err)
	}
	forType := &unstructured.Unstructured{}
	forType.SetGroupVersionKind(crd.GVK())
	if err := ctrl.NewControllerManagedBy(mgr).For(forType).Owns(&corev1.ConfigMap{}).Named("widget").
		Complete(&widgetReconciler{Client: mgr.GetClient(), gvk: crd.GVK()}); err != nil {
		t.Fatalf("controller: %v", err)
	}
	mgrCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("manager stopped with: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("manager did not stop within 15s")
		}
	})

	// Write the custom resource with the manager's client (JSON for a custom kind).
	c := mgr.GetClient()
	widget := newWidget(crd, "w1", nil, map[string]any{"size": int64(2)})
	widget.SetNamespace(ns)
	apiReader := mgr.GetAPIReader()
	if err := c.Create(ctx, widget); err != nil {
		t.Fatalf("create widget: %v", err)
	}
	waitReconciled := func(size int64) {
		t.Helper()
		eventually(t, 30*time.Second, "widget reconciled at size "+strconv.FormatInt(size, 10), func() (bool, error) {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(crd.GVK())
			if err := apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w1"}, got); err != nil {
				return false, err
			}
			observed, _, _ := unstructured.NestedInt64(got.Object, "status", "observedSize")
			cm := &corev1.ConfigMap{}
			if err := apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w1-cfg"}, cm); err != nil {
				return false, err
			}
			return observed == size && got.GetAnnotations()["kubeshim.test/reconciled"] == "true" &&
				cm.Data["size"] == strconv.FormatInt(size, 10) && metav1.IsControlledBy(cm, got), nil
		})
	}
	waitReconciled(2)

	// A spec change reaches the controller through the cache's watch.
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(crd.GVK())
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w1"}, got); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(got.DeepCopy())
	_ = unstructured.SetNestedField(got.Object, int64(5), "spec", "size")
	if err := c.Patch(ctx, got, patch); err != nil {
		t.Fatalf("patch widget: %v", err)
	}
	waitReconciled(5)
	if got.GetGeneration() != 2 {
		t.Errorf("generation after one spec change: %d", got.GetGeneration())
	}

	// controller-runtime's client writes built-in kinds as protobuf, like client-go's typed clients.
	assertProtobufWrites(t, rec, "/configmaps", "POST", "PUT")

	// Leader election went through a Lease in the namespace.
	lease, err := cs.CoordinationV1().Leases(ns).Get(ctx, "widgets-controller", metav1.GetOptions{})
	if err != nil {
		t.Errorf("leader election lease: %v", err)
	} else if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("leader election lease has no holder: %+v", lease.Spec)
	}

	// Deleting the owner lets the garbage collector remove the owned ConfigMap.
	if err := c.Delete(ctx, got, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatalf("delete widget: %v", err)
	}
	eventually(t, 30*time.Second, "the garbage collector to delete w1-cfg", func() (bool, error) {
		err := apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w1-cfg"}, &corev1.ConfigMap{})
		return apierrors.IsNotFound(err), nil
	})
}
