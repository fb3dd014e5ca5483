package clientgo

// Shared informers and raw watches: resync, selector transitions, bookmarks, 410 Expired and the relist it
// forces. These are the paths every controller (flytepropeller's included) runs on.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

func TestSharedInformerResyncRedeliversObjects(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r1"}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, time.Second, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	failOnWatchErrors(t, inf)
	var resyncs atomic.Int32
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(oldObj, newObj any) {
		o, n := oldObj.(*corev1.ConfigMap), newObj.(*corev1.ConfigMap)
		if n.Name == "r1" && o.ResourceVersion == n.ResourceVersion {
			resyncs.Add(1)
		}
	}}); err != nil {
		t.Fatal(err)
	}
	startFactory(t, factory)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}
	eventually(t, 15*time.Second, "three resync deliveries of r1", func() (bool, error) {
		return resyncs.Load() >= 3, nil
	})
}

type informerEvent struct{ kind, name, value string }

func TestInformerFollowsLabelSelectorTransitions(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	cms := cs.CoreV1().ConfigMaps(ns)

	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "tier=web" }))
	inf := factory.Core().V1().ConfigMaps().Informer()
	failOnWatchErrors(t, inf)
	var mu sync.Mutex
	var seen []informerEvent
	record := func(kind string, obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		cm := obj.(*corev1.ConfigMap)
		mu.Lock()
		seen = append(seen, informerEvent{kind, cm.Name, cm.Data["v"]})
		mu.Unlock()
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { record("add", obj) },
		UpdateFunc: func(_, obj any) { record("update", obj) },
		DeleteFunc: func(obj any) { record("delete", obj) },
	}); err != nil {
		t.Fatal(err)
	}
	startFactory(t, factory)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}
	snapshot := func() []informerEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]informerEvent(nil), seen...)
	}
	waitFor := func(n int) {
		eventually(t, 10*time.Second, fmt.Sprintf("%d informer events", n), func() (bool, error) {
			return len(snapshot()) >= n, nil
		})
	}

	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"tier": "web"}},
		Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(1)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{"tier": "db"}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm.Data["v"] = "2"
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(2)
	cm.Labels["tier"] = "db" // leaves the selection: the watch must say DELETED
	cm.Data["v"] = "3"
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(3)
	cm.Labels["tier"] = "web" // enters it again: ADDED
	cm.Data["v"] = "4"
	if _, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(4)
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(5)
	time.Sleep(300 * time.Millisecond) // nothing else may follow
	want := []informerEvent{{"add", "a", "1"}, {"update", "a", "2"}, {"delete", "a", "2"}, {"add", "a", "4"}, {"delete", "a", "4"}}
	got := snapshot()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		// The delete of an object leaving the selection carries its last matching state (v=2) or the new
		// one (v=3) depending on the server; both are acceptable to informers, so compare kinds and names.
		if len(got) != len(want) {
			t.Fatalf("informer events: got %v, want %v", got, want)
		}
		for i := range want {
			if got[i].kind != want[i].kind || got[i].name != want[i].name {
				t.Fatalf("informer events: got %v, want %v", got, want)
			}
		}
	}
}

func TestInformerResourceVersionAdvancesOnBookmarks(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	failOnWatchErrors(t, inf)
	startFactory(t, factory)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}
	// A write to another resource moves the global revision; the pod watch sees no event for it, so only a
	// BOOKMARK can bring the informer's resourceVersion up to it.
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tick"}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := mustRV(t, cm.ResourceVersion)
	eventually(t, 30*time.Second, "a bookmark carrying the informer past rv "+cm.ResourceVersion, func() (bool, error) {
		rv, err := strconv.ParseInt(inf.LastSyncResourceVersion(), 10, 64)
		return err == nil && rv >= target, err
	})
}

func TestWatchSendsBookmarksOfTheWatchedKind(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion,
		AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := mustRV(t, list.ResourceVersion)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed before any bookmark")
			}
			if ev.Type != watch.Bookmark {
				t.Fatalf("unexpected %s event in an empty namespace: %#v", ev.Type, ev.Object)
			}
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("bookmark object is %T, want *v1.Pod", ev.Object)
			}
			if mustRV(t, pod.ResourceVersion) < start {
				t.Errorf("bookmark rv %s older than the watch start %d", pod.ResourceVersion, start)
			}
			if pod.Name != "" || len(pod.Spec.Containers) != 0 {
				t.Errorf("bookmark carries more than a resourceVersion: %+v", pod)
			}
			return
		case <-deadline:
			t.Fatal("no BOOKMARK within 30s on a watch with allowWatchBookmarks=true")
		}
	}
}

func TestWatchFromExpiredResourceVersionIsGone(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 120*time.Second)
	list, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = writeUntilExpired(t, ctx, cs, ns, list.ResourceVersion)
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("watch from an expired resourceVersion: got %v, want 410 Expired", err)
	}
	if !strings.Contains(err.Error(), "too old resource version") {
		t.Errorf("410 message %q lacks upstream's 'too old resource version'", err.Error())
	}
}

// gatedWatcher is a ListerWatcher that can cut the current watch and hold the next one back, so a test can
// push the server's history window past the reflector's resourceVersion before it re-watches.
type gatedWatcher struct {
	client    kubernetes.Interface
	namespace string

	mu       sync.Mutex
	gate     chan struct{}
	current  watch.Interface
	held     string // resourceVersion of a watch waiting at the closed gate
	initial  int    // list calls plus watch-list (sendInitialEvents) calls
	watchErr []error
}

func (g *gatedWatcher) listerWatcher() *cache.ListWatch {
	cms := func() interface {
		List(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error)
		Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
	} {
		return g.client.CoreV1().ConfigMaps(g.namespace)
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			g.mu.Lock()
			g.initial++
			g.mu.Unlock()
			return cms().List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			g.mu.Lock()
			gate := g.gate
			if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
				g.initial++
			}
			g.held = opts.ResourceVersion
			g.mu.Unlock()
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			w, err := cms().Watch(ctx, opts)
			g.mu.Lock()
			defer g.mu.Unlock()
			if err != nil {
				g.watchErr = append(g.watchErr, err)
				return nil, err
			}
			g.current = w
			return w, nil
		},
	}
}

func TestInformerRelistsAfterWatchExpired(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 120*time.Second)
	cms := cs.CoreV1().ConfigMaps(ns)
	for _, name := range []string{"keep", "doomed"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	open := make(chan struct{})
	close(open)
	g := &gatedWatcher{client: cs, namespace: ns, gate: open}
	inf := cache.NewSharedIndexInformer(g.listerWatcher(), &corev1.ConfigMap{}, 0, cache.Indexers{})
	var adds, deletes sync.Map
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { adds.Store(obj.(*corev1.ConfigMap).Name, true) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			deletes.Store(obj.(*corev1.ConfigMap).Name, true)
		},
	}); err != nil {
		t.Fatal(err)
	}
	go inf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}
	time.Sleep(1500 * time.Millisecond) // a watch closed in under 1s with no events counts as broken

	// Close the gate, cut the watch, and change the namespace while the reflector is held back.
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.held = ""
	gate, current, initialBefore := g.gate, g.current, g.initial
	g.mu.Unlock()
	if current == nil {
		t.Fatal("the informer holds no watch")
	}
	current.Stop()
	if err := cms.Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "born-in-gap"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var held string
	eventually(t, 10*time.Second, "the reflector to re-watch", func() (bool, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		held = g.held
		return held != "", nil
	})
	if err := writeUntilExpired(t, ctx, cs, ns, held); !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("could not expire the informer's resourceVersion: %v", err)
	}
	close(gate)

	eventually(t, 30*time.Second, "the relist to deliver born-in-gap and the delete of doomed", func() (bool, error) {
		_, added := adds.Load("born-in-gap")
		_, deleted := deletes.Load("doomed")
		return added && deleted, nil
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	expired := false
	for _, err := range g.watchErr {
		expired = expired || apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
	}
	if !expired {
		t.Errorf("the reflector's re-watch did not get 410 Expired; watch errors: %v", g.watchErr)
	}
	if g.initial <= initialBefore {
		t.Errorf("no relist after the 410 (initial-state requests: %d before, %d after)", initialBefore, g.initial)
	}
	var keys []string
	for _, key := range inf.GetStore().ListKeys() {
		if key != ns+"/kube-root-ca.crt" { // every namespace has it, published by the root CA controller
			keys = append(keys, key)
		}
	}
	if fmt.Sprint(sortedStrings(keys)) != fmt.Sprint([]string{ns + "/born-in-gap", ns + "/filler", ns + "/keep"}) {
		t.Errorf("informer store after relist: %v", keys)
	}
}

// writeUntilExpired updates a filler object in ns until a watch from rv is answered 410, and returns that
// watch's error (nil only if the cap was reached first, which fails the test). The cap is
// KUBESHIM_WATCH_WINDOW + 200 when set (the wrapper starts kubeshim with --watch-window), else 3000.
func writeUntilExpired(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, rv string) error {
	t.Helper()
	limit := 3000
	if v, err := strconv.Atoi(os.Getenv("KUBESHIM_WATCH_WINDOW")); err == nil {
		limit = v + 200
	}
	cms := cs.CoreV1().ConfigMaps(ns)
	filler, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "filler"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err != nil {
		filler, _ = cms.Get(ctx, "filler", metav1.GetOptions{})
	}
	probe := func() error {
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			return err
		}
		defer w.Stop()
		// A server may also report expiry as an ERROR event on an open stream.
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Error {
				return apierrors.FromObject(ev.Object)
			}
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	}
	for written := 0; written < limit; written += 50 {
		if err := probe(); err != nil {
			return err
		}
		for i := 0; i < 50; i++ {
			filler.Data = map[string]string{"n": strconv.Itoa(written + i)}
			if filler, err = cms.Update(ctx, filler, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("filler update: %v", err)
			}
		}
	}
	if err := probe(); err != nil {
		return err
	}
	if os.Getenv("KUBESHIM_WATCH_WINDOW") == "" {
		t.Skipf("no 410 after %d writes: this kubeshim keeps a larger watch window; start it with the hidden "+
			"flag --watch-window N and set KUBESHIM_WATCH_WINDOW=N", limit)
	}
	t.Fatalf("no 410 after %d writes although KUBESHIM_WATCH_WINDOW=%s", limit, os.Getenv("KUBESHIM_WATCH_WINDOW"))
	return nil
}

func mustRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q is not an integer: %v", rv, err)
	}
	return n
}

func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
