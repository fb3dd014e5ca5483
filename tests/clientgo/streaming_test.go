package clientgo

// client-go's streaming clients against a kubeshim that runs pods (its own kubelet): remotecommand's SPDY,
// WebSocket and fallback executors (exec with stdin, stdout, stderr, a TTY of a given size, the exit code) and
// the portforward package (an HTTP request through a forwarded port, over SPDY and over SPDY tunnelled through
// a WebSocket, as kubectl >= 1.30 dials). These tests need KUBESHIM_NODE_KUBECONFIG (tests/go starts that
// server); they skip without it (fail under CI=true).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
)

// nodeClient is a clientset (and its config) for the kubeshim that runs pods.
func nodeClient(t *testing.T) (*kubernetes.Clientset, *rest.Config) {
	t.Helper()
	path := os.Getenv("KUBESHIM_NODE_KUBECONFIG")
	if path == "" && os.Getenv("CI") == "true" {
		t.Fatal("KUBESHIM_NODE_KUBECONFIG is not set (required under CI=true): run this suite through tests/go")
	}
	if path == "" {
		t.Skip("KUBESHIM_NODE_KUBECONFIG is not set: point it at the kubeconfig of a kubeshim with its kubelet " +
			"(tests/go/test_clientgo.py does this)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading kubeconfig: %v", err)
	}
	cfg.UserAgent = "kubeshim-clientgo-streaming/" + t.Name()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs, cfg
}

// runningPod creates a pod with one container running command and waits until it runs.
func runningPod(t *testing.T, cs *kubernetes.Clientset, ns string, command ...string) string {
	t.Helper()
	ctx := testContext(t, 60*time.Second)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(t, "streaming")}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "main", Image: "python:3.11", Command: command}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod: %v", err)
	}
	eventually(t, 60*time.Second, "the pod to run", func() (bool, error) {
		got, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, status := range got.Status.ContainerStatuses {
			if status.State.Running != nil {
				return true, nil
			}
		}
		return false, nil
	})
	return pod.Name
}

// executors are the three ways client-go runs a remote command, as kubectl builds them.
var executors = map[string]func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error){
	"spdy": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		return remotecommand.NewSPDYExecutor(cfg, "POST", u)
	},
	"websocket": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		return remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	},
	"fallback": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
		if err != nil {
			return nil, err
		}
		sp, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
		if err != nil {
			return nil, err
		}
		return remotecommand.NewFallbackExecutor(ws, sp, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	},
}

func execURL(cs *kubernetes.Clientset, ns, pod string, opts *corev1.PodExecOptions) *url.URL {
	return cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(opts, scheme.ParameterCodec).URL()
}

// fixedSize is a TerminalSizeQueue that reports one size, then ends.
type fixedSize struct{ sent chan struct{} }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	select {
	case f.sent <- struct{}{}:
		return &remotecommand.TerminalSize{Width: 111, Height: 33}
	default:
		return nil
	}
}

func TestExecStreamsStdioAndReportsTheExitCode(t *testing.T) {
	t.Parallel()
	cs, cfg := nodeClient(t)
	ns := testNamespace(t, cs)
	pod := runningPod(t, cs, ns, "sleep", "600")
	for name, build := range executors {
		t.Run(name, func(t *testing.T) {
			u := execURL(cs, ns, pod, &corev1.PodExecOptions{Container: "main", Stdin: true, Stdout: true,
				Stderr: true, Command: []string{"sh", "-c", "cat; echo to-stderr >&2; exit 3"}})
			exec, err := build(cfg, u)
			if err != nil {
				t.Fatalf("executor: %v", err)
			}
			var stdout, stderr bytes.Buffer
			err = exec.StreamWithContext(testContext(t, 30*time.Second), remotecommand.StreamOptions{
				Stdin: strings.NewReader("through stdin\n"), Stdout: &stdout, Stderr: &stderr})
			var exit utilexec.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
				t.Fatalf("want exit code 3, got %v", err)
			}
			expectEqual(t, "stdout", stdout.String(), "through stdin\n")
			expectEqual(t, "stderr", stderr.String(), "to-stderr\n")
		})
	}
}

func TestExecOfASucceedingCommandReturnsNoError(t *testing.T) {
	t.Parallel()
	cs, cfg := nodeClient(t)
	ns := testNamespace(t, cs)
	pod := runningPod(t, cs, ns, "sleep", "600")
	for name, build := range executors {
		t.Run(name, func(t *testing.T) {
			u := execURL(cs, ns, pod, &corev1.PodExecOptions{Container: "main", Stdout: true,
				Command: []string{"echo", "done"}})
			exec, err := build(cfg, u)
			if err != nil {
				t.Fatalf("executor: %v", err)
			}
			var stdout bytes.Buffer
			if err := exec.StreamWithContext(testContext(t, 30*time.Second),
				remotecommand.StreamOptions{Stdout: &stdout}); err != nil {
				t.Fatalf("exec: %v", err)
			}
			expectEqual(t, "stdout", stdout.String(), "done\n")
		})
	}
}

func TestExecWithATTYRunsOnATerminalOfTheClientsSize(t *testing.T) {
	t.Parallel()
	cs, cfg := nodeClient(t)
	ns := testNamespace(t, cs)
	pod := runningPod(t, cs, ns, "sleep", "600")
	for name, build := range executors {
		t.Run(name, func(t *testing.T) {
			// the size is read once typed input arrives: the resize stream and stdin are separate streams
			u := execURL(cs, ns, pod, &corev1.PodExecOptions{Container: "main", Stdin: true, Stdout: true,
				TTY: true, Command: []string{"sh", "-c", "read line; tty; stty size; exit 4"}})
			exec, err := build(cfg, u)
			if err != nil {
				t.Fatalf("executor: %v", err)
			}
			sizes := &fixedSize{sent: make(chan struct{}, 1)}
			stdin, typing := io.Pipe()
			var stdout bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- exec.StreamWithContext(testContext(t, 30*time.Second), remotecommand.StreamOptions{
					Stdin: stdin, Stdout: &stdout, Tty: true, TerminalSizeQueue: sizes})
			}()
			select { // the size is on its way before the line that makes the command read it
			case <-sizes.sent:
			case err := <-done:
				t.Fatalf("the session ended before the terminal's size was sent: %v", err)
			}
			if _, err := typing.Write([]byte("go\n")); err != nil {
				t.Fatalf("typing: %v", err)
			}
			err = <-done
			var exit utilexec.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 4 {
				t.Fatalf("want exit code 4, got %v (output %q)", err, stdout.String())
			}
			if !regexp.MustCompile(`/dev/pts/\d+\r\n33 111\r\n`).MatchString(stdout.String()) {
				t.Fatalf("no terminal of 111x33 in %q", stdout.String())
			}
		})
	}
}

// freePort is a port nothing listens on now (the pod's, on the shared host network).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPortForwardCarriesAnHTTPRequest(t *testing.T) {
	t.Parallel()
	cs, cfg := nodeClient(t)
	ns := testNamespace(t, cs)
	port := freePort(t)
	pod := runningPod(t, cs, ns, "python3", "-m", "http.server", fmt.Sprint(port), "--bind", "127.0.0.1")
	eventually(t, 30*time.Second, "the pod to listen", func() (bool, error) {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil, nil
	})
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward").URL()
	dialers := map[string]func() (httpstream.Dialer, error){
		"spdy": func() (httpstream.Dialer, error) { return spdyDialer(cfg, u) },
		"spdy-over-websocket": func() (httpstream.Dialer, error) {
			tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
			if err != nil {
				return nil, err
			}
			fallback, err := spdyDialer(cfg, u)
			if err != nil {
				return nil, err
			}
			return portforward.NewFallbackDialer(tunnel, fallback, func(err error) bool {
				return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
			}), nil
		},
	}
	for name, dial := range dialers {
		t.Run(name, func(t *testing.T) {
			dialer, err := dial()
			if err != nil {
				t.Fatalf("dialer: %v", err)
			}
			stop, ready := make(chan struct{}), make(chan struct{})
			forwarder, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"},
				[]string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
			if err != nil {
				t.Fatalf("forwarder: %v", err)
			}
			forwarding := make(chan error, 1)
			go func() { forwarding <- forwarder.ForwardPorts() }()
			ended := false
			defer func() {
				close(stop)
				if !ended {
					<-forwarding
				}
			}()
			select {
			case <-ready:
			case err := <-forwarding:
				ended = true
				t.Fatalf("forwarding ended before it was ready: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("the forwarder was not ready within 30s")
			}
			ports, err := forwarder.GetPorts()
			if err != nil || len(ports) != 1 {
				t.Fatalf("forwarded ports: %v %v", ports, err)
			}
			client := &http.Client{Timeout: 10 * time.Second}
			response, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
			if err != nil {
				t.Fatalf("GET through the forwarded port: %v", err)
			}
			body, _ := io.ReadAll(response.Body)
			response.Body.Close()
			if response.StatusCode != http.StatusOK || !strings.Contains(string(body), "Directory listing") {
				t.Fatalf("GET through the forwarded port: %d %q", response.StatusCode, body)
			}
		})
	}
}

func spdyDialer(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error) {
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	return spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u), nil
}
