package clientgo

// WatchList (KEP-3157): the initial state streamed by a watch with sendInitialEvents=true, closed by a
// BOOKMARK annotated k8s.io/initial-events-end. client-go turns it on by default from v0.35; in the v0.34
// build it is switched on for these tests (KUBE_FEATURE_WatchListClient=true in the environment, or the
// client-go feature gate flipped for the duration of the test). These tests are not parallel: the gate is
// process-wide, and parallel tests only start once the sequential ones have finished.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func enableWatchList(t *testing.T) {
	t.Helper()
	kubeconfigPath(t) // skip before touching the gate when there is no server
	if clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Log("WatchListClient is on (client-go default or KUBE_FEATURE_WatchListClient=true)")
		return
	}
	t.Log("WatchListClient is off in this client-go: switching it on for this test")
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, true)
}

func isWatchListRequest(req Request) bool {
	return req.Method == "GET" && strings.Contains(req.Query, "watch=true") &&
		strings.Contains(req.Query, "sendInitialEvents=true") &&
		strings.Contains(req.Query, "resourceVersionMatch=NotOlderThan") &&
		strings.Contains(req.Query, "allowWatchBookmarks=true")
}

func TestWatchListInformerInitialSync(t *testing.T) {
	enableWatchList(t)
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	cms := cs.CoreV1().ConfigMaps(ns)
	const n = 25
	for i := 0; i < n; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + strconv.Itoa(i)}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	failOnWatchErrors(t, inf)
	startFactory(t, factory)
	syncCtx := testContext(t, 20*time.Second)
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced: the initial-events-end bookmark did not arrive")
	}
	if got := countPrefix(inf.GetStore().ListKeys(), ns+"/cm-"); got != n {
		t.Errorf("informer holds %d of the %d configmaps after the initial sync", got, n)
	}
	var watchLists, plainLists int
	for _, req := range rec.Matching("GET", "/namespaces/"+ns+"/configmaps") {
		switch {
		case isWatchListRequest(req):
			watchLists++
			if req.Status != 200 {
				t.Errorf("watch-list request answered %d: %s", req.Status, req)
			}
		case !strings.Contains(req.Query, "watch=true") && !strings.Contains(req.Query, "resourceVersionMatch=Exact"):
			// (an Exact list is KUBE_WATCHLIST_INCONSISTENCY_DETECTOR's check, not a fallback)
			plainLists++
		}
	}
	if watchLists == 0 {
		t.Errorf("the informer made no watch-list request")
	}
	if plainLists != 0 {
		t.Errorf("the informer fell back to %d plain list(s): the watch-list failed", plainLists)
	}
	// The same stream goes on with changes after the initial state.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "cm-late in the informer", func() (bool, error) {
		_, ok, err := inf.GetStore().GetByKey(ns + "/cm-late")
		return ok, err
	})
}

func TestWatchListStreamEndsInitialEventsWithAnnotatedBookmark(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)
	cms := cs.CoreV1().ConfigMaps(ns)
	for i := 0; i < 7; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + strconv.Itoa(i),
			Labels: map[string]string{"odd": strconv.FormatBool(i%2 == 1)}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	classic, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "odd=true"})
	if err != nil {
		t.Fatal(err)
	}
	// The raw request a watch-list client makes, independent of the client-go version's gate.
	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "odd=true", SendInitialEvents: ptr.To(true),
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatalf("watch-list request: %v", err)
	}
	defer w.Stop()
	var added []string
	var end *corev1.ConfigMap
	timeout := time.After(15 * time.Second)
	for end == nil {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("stream closed after %v without the initial-events-end bookmark", added)
			}
			cm, _ := ev.Object.(*corev1.ConfigMap)
			switch {
			case ev.Type == watch.Added && cm != nil:
				added = append(added, cm.Name)
			case ev.Type == watch.Bookmark && cm != nil && cm.Annotations[metav1.InitialEventsAnnotationKey] == "true":
				end = cm
			case ev.Type == watch.Bookmark:
				// an ordinary progress bookmark may come first on a slow stream
			default:
				t.Fatalf("unexpected %s event before the initial-events-end bookmark: %#v", ev.Type, ev.Object)
			}
		case <-timeout:
			t.Fatalf("no initial-events-end bookmark within 15s (ADDED so far: %v)", added)
		}
	}
	var want []string
	for _, cm := range classic.Items {
		want = append(want, cm.Name)
	}
	expectEqual(t, "initial ADDED events", sortedStrings(added), sortedStrings(want))
	if mustRV(t, end.ResourceVersion) < mustRV(t, classic.ResourceVersion) {
		t.Errorf("initial-events-end bookmark rv %s older than the list rv %s", end.ResourceVersion, classic.ResourceVersion)
	}
	// The stream goes on with changes.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-late",
		Labels: map[string]string{"odd": "true"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev := <-w.ResultChan():
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added && cm.Name == "cm-late" {
				return
			}
			if ev.Type != watch.Bookmark {
				t.Fatalf("unexpected %s event after the initial state: %#v", ev.Type, ev.Object)
			}
		case <-timeout:
			t.Fatal("cm-late never arrived on the watch-list stream")
		}
	}
}

func countPrefix(keys []string, prefix string) int {
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}
