package clientgo

// CustomResourceDefinitions through the apiextensions clientset, and custom resources through the dynamic
// client (the path flyteadmin's cluster-resource controller and every unstructured controller take).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// testCRD is a namespaced "Widget" kind in a group of its own, with a status subresource and a
// selectable field.
type testCRD struct {
	GVR  schema.GroupVersionResource
	Kind string
}

func (c testCRD) APIVersion() string { return c.GVR.Group + "/" + c.GVR.Version }

func (c testCRD) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: c.GVR.Group, Version: c.GVR.Version, Kind: c.Kind}
}

// createCRD installs a fresh Widget CRD, waits until it is Established (and served), and deletes it when
// the test ends.
func createCRD(t *testing.T, cfg *rest.Config) testCRD {
	t.Helper()
	ctx := testContext(t, 60*time.Second)
	client, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	group := strings.ReplaceAll(uniqueName(t, "g"), "-", "") + ".kubeshim.test"
	crd := &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget",
				ListKind: "WidgetList", ShortNames: []string{"wdg"}},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
							"size":  {Type: "integer"},
							"color": {Type: "string"},
						}},
						"status": {Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{
							"observedSize": {Type: "integer"},
							"phase":        {Type: "string"},
						}},
					},
				}},
				Subresources:     &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
				SelectableFields: []apiextv1.SelectableField{{JSONPath: ".spec.color"}},
				AdditionalPrinterColumns: []apiextv1.CustomResourceColumnDefinition{
					{Name: "Size", Type: "integer", JSONPath: ".spec.size"}},
			}},
		},
	}
	if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating CRD %s: %v", crd.Name, err)
	}
	t.Cleanup(func() {
		ctx := testContext(t, 10*time.Second)
		if err := client.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, crd.Name, metav1.DeleteOptions{}); err != nil &&
			!apierrors.IsNotFound(err) {
			t.Logf("deleting CRD %s: %v", crd.Name, err)
		}
	})
	eventually(t, 20*time.Second, "CRD "+crd.Name+" to be Established", func() (bool, error) {
		got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	out := testCRD{GVR: schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}, Kind: "Widget"}
	// Established means served: discovery must list the new resource.
	eventually(t, 10*time.Second, "discovery of "+out.APIVersion(), func() (bool, error) {
		list, err := client.Discovery().ServerResourcesForGroupVersion(out.APIVersion())
		if err != nil {
			return false, err
		}
		for _, r := range list.APIResources {
			if r.Name == "widgets" && r.Kind == "Widget" && r.Namespaced {
				return true, nil
			}
		}
		return false, fmt.Errorf("widgets not in %v", list.APIResources)
	})
	return out
}

func newWidget(crd testCRD, name string, labels map[string]any, spec map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if labels != nil {
		meta["labels"] = labels
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": crd.APIVersion(), "kind": crd.Kind, "metadata": meta, "spec": spec}}
}

func TestDynamicClientCustomResourceCRUD(t *testing.T) {
	t.Parallel()
	cfg, rec := newConfig(t)
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	crd := createCRD(t, cfg)
	assertProtobufWrites(t, rec, "/customresourcedefinitions", "POST")
	ctx := testContext(t, 60*time.Second)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	widgets := dyn.Resource(crd.GVR).Namespace(ns)

	created, err := widgets.Create(ctx, newWidget(crd, "w1", map[string]any{"env": "a"},
		map[string]any{"size": int64(3), "color": "red", "unknownField": "pruned"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.GetGeneration() != 1 || created.GetUID() == "" {
		t.Errorf("create: generation %d uid %q", created.GetGeneration(), created.GetUID())
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(created.Object, "spec", "unknownField"); found {
		t.Errorf("a field outside the structural schema was kept: %v", created.Object["spec"])
	}

	if err := unstructured.SetNestedField(created.Object, int64(4), "spec", "size"); err != nil {
		t.Fatal(err)
	}
	updated, err := widgets.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.GetGeneration() != 2 {
		t.Errorf("a spec change must bump generation to 2, got %d", updated.GetGeneration())
	}
	if _, err := widgets.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update from a stale resourceVersion: got %v, want Conflict", err)
	}

	if err := unstructured.SetNestedMap(updated.Object, map[string]any{"observedSize": int64(4), "phase": "Ready"}, "status"); err != nil {
		t.Fatal(err)
	}
	withStatus, err := widgets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if phase, _, _ := unstructured.NestedString(withStatus.Object, "status", "phase"); phase != "Ready" {
		t.Errorf("status not stored through /status: %v", withStatus.Object["status"])
	}
	if withStatus.GetGeneration() != 2 {
		t.Errorf("a status write must not bump generation: %d", withStatus.GetGeneration())
	}
	// With a status subresource the main endpoint ignores status changes.
	_ = unstructured.SetNestedField(withStatus.Object, "Hacked", "status", "phase")
	_ = unstructured.SetNestedField(withStatus.Object, "blue", "spec", "color")
	again, err := widgets.Update(ctx, withStatus, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if phase, _, _ := unstructured.NestedString(again.Object, "status", "phase"); phase != "Ready" {
		t.Errorf("main endpoint changed status: phase %q", phase)
	}

	patched, err := widgets.Patch(ctx, "w1", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"patched":"yes"}},"spec":{"size":5}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(patched.Object, "spec", "size"); size != 5 || patched.GetLabels()["patched"] != "yes" {
		t.Errorf("merge patch not applied: %v %v", patched.Object["spec"], patched.GetLabels())
	}
	if _, err := widgets.Patch(ctx, "w1", types.StrategicMergePatchType, []byte(`{"spec":{"size":6}}`),
		metav1.PatchOptions{}); err == nil || !apierrors.IsUnsupportedMediaType(err) {
		t.Errorf("strategic merge patch on a custom resource: got %v, want 415", err)
	}

	if _, err := widgets.Create(ctx, newWidget(crd, "w2", map[string]any{"env": "b"}, map[string]any{"color": "red"}),
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := widgets.List(ctx, metav1.ListOptions{LabelSelector: "env in (a)"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].GetName() != "w1" {
		t.Errorf("list by label: %d items", len(list.Items))
	}
	if list.GetResourceVersion() == "" || list.GetKind() != "WidgetList" {
		t.Errorf("list metadata: kind %q rv %q", list.GetKind(), list.GetResourceVersion())
	}

	if err := widgets.Delete(ctx, "w1", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := widgets.Get(ctx, "w1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
}

func TestCustomResourceSelectableFieldSelector(t *testing.T) {
	t.Parallel()
	cfg, _ := newConfig(t)
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	crd := createCRD(t, cfg)
	ctx := testContext(t, 60*time.Second)
	dyn := dynamic.NewForConfigOrDie(cfg)
	widgets := dyn.Resource(crd.GVR).Namespace(ns)
	for name, color := range map[string]string{"r1": "red", "r2": "red", "b1": "blue"} {
		if _, err := widgets.Create(ctx, newWidget(crd, name, nil, map[string]any{"color": color}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := widgets.List(ctx, metav1.ListOptions{FieldSelector: "spec.color=red"})
	if err != nil {
		t.Fatalf("list by selectable field: %v", err)
	}
	var names []string
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	expectEqual(t, "spec.color=red", sortedStrings(names), []string{"r1", "r2"})
	if _, err := widgets.List(ctx, metav1.ListOptions{FieldSelector: "spec.size=1"}); !apierrors.IsBadRequest(err) {
		t.Errorf("field selector on an undeclared field: got %v, want 400 BadRequest", err)
	}
}
