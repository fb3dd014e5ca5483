package clientgo

// The metadata-only informer flytepropeller runs on pods: list with
// Accept as=PartialObjectMetadataList, watch with as=PartialObjectMetadata (a watch does not fall back, so a
// full object in the stream breaks it).

import (
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func TestMetadataInformerOnPods(t *testing.T) {
	t.Parallel()
	cfg, rec := newConfig(t)
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	pods := cs.CoreV1().Pods(ns)
	podSpec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "c", Image: "python:3.11", Command: []string{"true"}}}}
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "before",
		Labels: map[string]string{"execution-id": "e1"}}, Spec: podSpec}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	factory := metadatainformer.NewFilteredSharedInformerFactory(mc, 0, ns, nil)
	inf := factory.ForResource(corev1.SchemeGroupVersion.WithResource("pods")).Informer()
	var mu sync.Mutex
	labels := map[string]string{}
	deleted := map[string]bool{}
	onObj := func(obj any) {
		m := obj.(*metav1.PartialObjectMetadata)
		mu.Lock()
		labels[m.Name] = m.Labels["step"]
		mu.Unlock()
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onObj,
		UpdateFunc: func(_, obj any) { onObj(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			mu.Lock()
			deleted[obj.(*metav1.PartialObjectMetadata).Name] = true
			mu.Unlock()
		},
	}); err != nil {
		t.Fatal(err)
	}
	var watchErrors []error
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		mu.Lock()
		watchErrors = append(watchErrors, err)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	startFactory(t, factory)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("metadata informer never synced")
	}
	obj, exists, err := inf.GetStore().GetByKey(ns + "/before")
	if err != nil || !exists {
		t.Fatalf("pod from the initial list missing: %v", err)
	}
	meta := obj.(*metav1.PartialObjectMetadata)
	// (client-go strips the type meta of watch-list items, so Kind may be empty here)
	if (meta.Kind != "PartialObjectMetadata" && meta.Kind != "") || meta.UID == "" || meta.Labels["execution-id"] != "e1" {
		t.Errorf("initial list item: kind %q uid %q labels %v", meta.Kind, meta.UID, meta.Labels)
	}

	// Changes arrive through the watch in metadata form.
	created, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "during",
		Labels: map[string]string{"step": "one"}}, Spec: podSpec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Labels["step"] = "two"
	if _, err := pods.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "before", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "metadata watch events for the update of during and the delete of before", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return labels["during"] == "two" && deleted["before"], nil
	})

	// The initial state comes from a list with as=PartialObjectMetadataList, or with WatchList on from a
	// watch with sendInitialEvents=true; changes come from a watch with as=PartialObjectMetadata.
	var sawInitial, sawWatch, sawWatchList, sawList bool
	for _, req := range rec.Matching("GET", "/namespaces/"+ns+"/pods") {
		isWatch := strings.Contains(req.Query, "watch=true") || strings.Contains(req.Query, "watch=1")
		// An exact list is client-go's consistency detector checking a watch-list, not a fallback.
		detector := strings.Contains(req.Query, "resourceVersionMatch=Exact")
		if !isWatch && !detector && strings.Contains(req.Accept, "as=PartialObjectMetadataList") {
			sawInitial, sawList = true, true
		}
		if isWatch && strings.Contains(req.Accept, "as=PartialObjectMetadata") {
			sawWatch = true
			if strings.Contains(req.Query, "sendInitialEvents=true") {
				sawInitial, sawWatchList = true, true
			}
			if !strings.HasPrefix(req.ResponseType, "application/json") {
				t.Errorf("metadata watch answered as %q", req.ResponseType)
			}
		}
	}
	if !sawInitial {
		t.Errorf("no list with Accept as=PartialObjectMetadataList (nor a metadata watch-list) was made")
	}
	if !sawWatch {
		t.Errorf("no watch with Accept as=PartialObjectMetadata was made")
	}
	if sawWatchList && sawList {
		t.Errorf("the metadata informer's watch-list failed and it fell back to a list")
	}
	if len(watchErrors) > 0 {
		t.Errorf("the metadata informer's watch failed: %v", watchErrors)
	}
}

func TestMetadataWatchBookmarksArePartialObjectMetadata(t *testing.T) {
	t.Parallel()
	cfg, _ := newConfig(t)
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	mc := metadata.NewForConfigOrDie(cfg)
	pods := mc.Resource(corev1.SchemeGroupVersion.WithResource("pods")).Namespace(ns)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("metadata watch closed before any event")
		}
		if ev.Type != watch.Bookmark {
			t.Fatalf("first event on an idle metadata watch is %s %#v, want a BOOKMARK", ev.Type, ev.Object)
		}
		m, ok := ev.Object.(*metav1.PartialObjectMetadata)
		if !ok {
			t.Fatalf("bookmark object is %T, want *v1.PartialObjectMetadata", ev.Object)
		}
		if m.ResourceVersion == "" {
			t.Errorf("bookmark without resourceVersion: %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no BOOKMARK within 30s on a metadata watch with allowWatchBookmarks=true")
	}
}
