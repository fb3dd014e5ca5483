package clientgo

// client-go leader election with a LeaseLock: Get, then Create or PUT of a coordination.k8s.io/v1 Lease
// (protobuf), relying on 409 Conflict to settle races. Short durations keep the test quick.

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// candidate runs one leader-election participant until its context ends.
type candidate struct {
	id      string
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	leading bool
	started time.Time
	stopped bool
}

func (c *candidate) isLeading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}

func runCandidate(t *testing.T, cs kubernetes.Interface, ns, lease, id string, leaseDuration time.Duration,
	releaseOnCancel bool) *candidate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{id: id, cancel: cancel, done: make(chan struct{})}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: lease},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   leaseDuration * 3 / 4,
		RetryPeriod:     200 * time.Millisecond,
		ReleaseOnCancel: releaseOnCancel,
		Name:            id,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				c.mu.Lock()
				c.leading, c.started = true, time.Now()
				c.mu.Unlock()
			},
			OnStoppedLeading: func() {
				c.mu.Lock()
				c.leading, c.stopped = false, true
				c.mu.Unlock()
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		le.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

func TestLeaderElectionFailoverWhenHolderStops(t *testing.T) {
	t.Parallel()
	cs, rec := newClientset(t)
	ns := testNamespace(t, cs)
	ctx := testContext(t, 60*time.Second)

	a := runCandidate(t, cs, ns, "propeller-leader", "a", 2*time.Second, false)
	eventually(t, 10*time.Second, "candidate a to lead", func() (bool, error) { return a.isLeading(), nil })
	b := runCandidate(t, cs, ns, "propeller-leader", "b", 2*time.Second, false)
	time.Sleep(3 * time.Second) // more than a lease duration: a keeps renewing, so b must not take over
	if b.isLeading() || !a.isLeading() {
		t.Fatalf("while a renews: a leading=%v, b leading=%v", a.isLeading(), b.isLeading())
	}
	lease, err := cs.CoordinationV1().Leases(ns).Get(ctx, "propeller-leader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *lease.Spec.HolderIdentity != "a" || lease.Spec.RenewTime == nil || time.Since(lease.Spec.RenewTime.Time) > 2*time.Second {
		t.Errorf("lease while a holds it: holder %v renewTime %v", *lease.Spec.HolderIdentity, lease.Spec.RenewTime)
	}

	// a stops without releasing the lease (a crash): b takes over once the lease has expired.
	stoppedAt := time.Now()
	a.cancel()
	<-a.done
	eventually(t, 15*time.Second, "candidate b to take over", func() (bool, error) { return b.isLeading(), nil })
	b.mu.Lock()
	waited := b.started.Sub(stoppedAt)
	b.mu.Unlock()
	if waited < time.Second {
		t.Errorf("b took over %s after a stopped, before a's 2s lease could expire", waited)
	}
	lease, err = cs.CoordinationV1().Leases(ns).Get(ctx, "propeller-leader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *lease.Spec.HolderIdentity != "b" || lease.Spec.LeaseTransitions == nil || *lease.Spec.LeaseTransitions != 1 {
		t.Errorf("lease after failover: holder %v transitions %v", *lease.Spec.HolderIdentity, lease.Spec.LeaseTransitions)
	}
	assertProtobufWrites(t, rec, "/leases", "POST", "PUT")
}

func TestLeaderElectionReleaseOnCancelHandsOver(t *testing.T) {
	t.Parallel()
	cs, _ := newClientset(t)
	ns := testNamespace(t, cs)

	a := runCandidate(t, cs, ns, "handover", "a", 6*time.Second, true)
	eventually(t, 10*time.Second, "candidate a to lead", func() (bool, error) { return a.isLeading(), nil })
	b := runCandidate(t, cs, ns, "handover", "b", 6*time.Second, true)
	time.Sleep(500 * time.Millisecond)
	stoppedAt := time.Now()
	a.cancel()
	<-a.done
	eventually(t, 10*time.Second, "candidate b to take over", func() (bool, error) { return b.isLeading(), nil })
	b.mu.Lock()
	waited := b.started.Sub(stoppedAt)
	b.mu.Unlock()
	if waited > 3*time.Second {
		t.Errorf("b needed %s to take over a released lease (free at once; a crashed holder's 6s lease would "+
			"have to expire)", waited)
	}
}
