package clientgo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// Protobuf is the Kubernetes protobuf media type that typed clients send for built-in kinds.
const Protobuf = "application/vnd.kubernetes.protobuf"

// kubeconfigPath is the kubeconfig of the live kubeshim under test; every test skips without it.
func kubeconfigPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KUBESHIM_KUBECONFIG")
	if path == "" && os.Getenv("CI") == "true" {
		t.Fatal("KUBESHIM_KUBECONFIG is not set (required under CI=true): run this suite through tests/go/test_clientgo.py")
	}
	if path == "" {
		t.Skip("KUBESHIM_KUBECONFIG is not set: start `kubeshim up` and point it at <data-dir>/kubeconfig " +
			"(tests/go/test_clientgo.py does this)")
	}
	return path
}

// Request is what the recording transport saw of one HTTP exchange.
type Request struct {
	Method, Path, Query string
	ContentType, Accept string
	Status              int
	ResponseType        string
}

func (r Request) String() string {
	return fmt.Sprintf("%s %s?%s ct=%q accept=%q -> %d %q", r.Method, r.Path, r.Query, r.ContentType, r.Accept,
		r.Status, r.ResponseType)
}

// Recorder keeps every request made through a config built by newConfig.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Matching returns the requests with this method whose path contains fragment.
func (r *Recorder) Matching(method, fragment string) []Request {
	var out []Request
	for _, req := range r.Requests() {
		if req.Method == method && strings.Contains(req.Path, fragment) {
			out = append(out, req)
		}
	}
	return out
}

type recordingTransport struct {
	next http.RoundTripper
	rec  *Recorder
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	entry := Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
		ContentType: req.Header.Get("Content-Type"), Accept: req.Header.Get("Accept")}
	if resp != nil {
		entry.Status = resp.StatusCode
		entry.ResponseType = resp.Header.Get("Content-Type")
	}
	t.rec.mu.Lock()
	t.rec.reqs = append(t.rec.reqs, entry)
	t.rec.mu.Unlock()
	return resp, err
}

// newConfig loads the kubeconfig with client-side throttling lifted and a transport that records requests.
func newConfig(t *testing.T) (*rest.Config, *Recorder) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath(t))
	if err != nil {
		t.Fatalf("loading kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	cfg.UserAgent = "kubeshim-clientgo-conformance/" + t.Name()
	rec := &Recorder{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &recordingTransport{rt, rec} }
	t.Cleanup(func() {
		// The wire log of a failed test (or of every test with KUBESHIM_TRACE=1) is the first thing to read.
		if t.Failed() || os.Getenv("KUBESHIM_TRACE") != "" {
			reqs := rec.Requests()
			if len(reqs) > 200 {
				reqs = reqs[len(reqs)-200:]
			}
			for _, req := range reqs {
				t.Log(req)
			}
		}
	})
	return cfg, rec
}

func newClientset(t *testing.T) (*kubernetes.Clientset, *Recorder) {
	t.Helper()
	cfg, rec := newConfig(t)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs, rec
}

func testContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// uniqueName is a DNS-1123 label from the test's name plus a random suffix.
func uniqueName(t *testing.T, prefix string) string {
	base := strings.ToLower(prefix)
	if len(base) > 40 {
		base = base[:40]
	}
	return fmt.Sprintf("%s-%05d", strings.Trim(base, "-"), rand.Intn(100000))
}

// testNamespace creates a fresh namespace for the test and deletes it when the test ends.
func testNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	name := uniqueName(t, "cg-"+strings.NewReplacer("/", "-", "_", "-").Replace(strings.TrimPrefix(t.Name(), "Test")))
	ctx := testContext(t, 30*time.Second)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}},
		metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil &&
			!apierrors.IsNotFound(err) {
			t.Logf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// eventually polls cond every 50ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lastErr error
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		ok, err := cond()
		if err != nil {
			lastErr = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
	}
}

// assertProtobufWrites checks that every create/update/delete request to a path containing fragment was
// sent with a protobuf body, and that there was at least one of each method in methods.
func assertProtobufWrites(t *testing.T, rec *Recorder, fragment string, methods ...string) {
	t.Helper()
	for _, method := range methods {
		reqs := rec.Matching(method, fragment)
		if len(reqs) == 0 {
			t.Errorf("no %s request to %s was recorded", method, fragment)
		}
		for _, req := range reqs {
			if !strings.HasPrefix(req.ContentType, Protobuf) {
				t.Errorf("request body not protobuf: %s", req)
			}
			if !strings.HasPrefix(req.Accept, Protobuf) {
				t.Errorf("client did not prefer protobuf responses: %s", req)
			}
		}
	}
}

// rawJSON fetches an object as plain JSON (what the server stored), bypassing the protobuf path.
func rawJSON(t *testing.T, ctx context.Context, client rest.Interface, absPath string) map[string]any {
	t.Helper()
	body, err := client.Get().AbsPath(absPath).SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		t.Fatalf("GET %s as JSON: %v", absPath, err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: not JSON: %v\n%s", absPath, err, body)
	}
	return out
}

// dig walks nested maps and slices (string keys, int indexes).
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func expectEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// startFactory starts an informer factory and stops it (and waits for its goroutines) when the test ends.
func startFactory(t *testing.T, factory interface {
	Start(stopCh <-chan struct{})
	Shutdown()
}) {
	stop := make(chan struct{})
	factory.Start(stop)
	t.Cleanup(func() {
		close(stop)
		factory.Shutdown()
	})
}

// failOnWatchErrors makes any error the informer's reflector reports (a broken watch, a failed list) fail
// the test; informers hide them by retrying. Call before the informer starts.
func failOnWatchErrors(t *testing.T, inf cache.SharedIndexInformer) {
	t.Helper()
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		t.Errorf("informer watch error: %v", err)
	}); err != nil {
		t.Fatal(err)
	}
}
