#!/usr/bin/env bash
# Build Kubernetes' own binaries from Go modules (k8s.io/kubernetes v1.34.12, etcd v3.6.16):
#
#     tools/k8s/build.sh                      # the reference servers: kube-apiserver, kube-controller-manager, etcd
#     tools/k8s/build.sh e2e.test agnhost ginkgo   # the conformance suite, its test image's binary, and the
#                                                  # ginkgo CLI that runs the suite's specs in parallel
#     tools/k8s/build.sh kubectl              # kubectl v1.34.12, the kubectl tier's newest client
#
# Prints the directory holding them. Used by the differential tier, the conformance tier, the kubectl tier,
# tools/conformance.sh and bench/. Binaries go to ${KUBESHIM_K8S_BIN:-~/.cache/kubeshim/k8s/v1.34.12}; a stamp
# of go.mod, go.sum and this script (plus cmd/<name>/ for the servers) beside each binary skips its build while
# nothing changed, so a fresh clone reuses them. Go's module and build caches keep their defaults (~/go/pkg/mod, ~/.cache/go-build):
# a cold build takes minutes on 2 cores, a warm one seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version=v1.34.12
out="${KUBESHIM_K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeshim/k8s/$version}"
wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(kube-apiserver kube-controller-manager etcd)
# What upstream's release build stamps (hack/lib/version.sh): /version and `--version` report v1.34.12, not
# v0.0.0-master, so clients see the version they would see on a cluster.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
done

command -v go > /dev/null || { echo "tools/k8s/build.sh: go not found (Go >= 1.26 needed)" >&2; exit 1; }
mkdir -p "$out"
start=$SECONDS
for b in "${wanted[@]}"; do
    case "$b" in
        kube-apiserver | kube-controller-manager | etcd) source="./cmd/$b" sources=("cmd/$b/main.go") ;;
        e2e.test) source=k8s.io/kubernetes/test/e2e sources=() ;;
        agnhost) source=k8s.io/kubernetes/test/images/agnhost sources=() ;;
        ginkgo) source=github.com/onsi/ginkgo/v2/ginkgo sources=() ;;
        kubectl) source=k8s.io/kubernetes/cmd/kubectl sources=() ;;
        *) echo "tools/k8s/build.sh: unknown binary $b" >&2; exit 2 ;;
    esac
    stamp="$(cd "$here" && cat build.sh go.mod go.sum "${sources[@]}" | sha256sum | cut -c1-16)"
    if [[ -x "$out/$b" && "$(cat "$out/.stamp-$b" 2> /dev/null)" == "$stamp" ]]; then
        continue
    fi
    echo "tools/k8s/build.sh: building $b ..." >&2
    if [[ $b == e2e.test ]]; then
        # The suite is the test binary of package test/e2e, as upstream's `make WHAT=test/e2e/e2e.test` builds it.
        (cd "$here" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go test -c -trimpath \
            -ldflags "$ldflags" -o "$out/$b.tmp" "$source")
    else
        (cd "$here" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -ldflags "$ldflags" \
            -o "$out/$b.tmp" "$source")
    fi
    mv -f "$out/$b.tmp" "$out/$b"
    echo "$stamp" > "$out/.stamp-$b"
done
echo "tools/k8s/build.sh: done in $((SECONDS - start)) s" >&2
echo "$out"
