#!/usr/bin/env bash
# Build the reference Kubernetes servers from Go modules (k8s.io/kubernetes v1.34.12, etcd v3.6.16):
#
#     tools/k8s/build.sh            # prints the directory holding kube-apiserver, kube-controller-manager, etcd
#
# Used by the differential tier and bench/peers. Binaries go to ${KUBESHIM_K8S_BIN:-~/.cache/kubeshim/k8s/v1.34.12};
# a stamp of go.mod, go.sum and the cmd/ sources there skips the build while nothing changed (so a fresh clone
# reuses them). Go's module and build caches keep their defaults (~/go/pkg/mod, ~/.cache/go-build): a cold build
# takes minutes on 2 cores, a warm one seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version=v1.34.12
out="${KUBESHIM_K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeshim/k8s/$version}"
binaries=(kube-apiserver kube-controller-manager etcd)
# What upstream's release build stamps (hack/lib/version.sh): /version and `--version` report v1.34.12, not
# v0.0.0-master, so clients see the version they would see on a cluster.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
done

command -v go > /dev/null || { echo "tools/k8s/build.sh: go not found (Go >= 1.26 needed)" >&2; exit 1; }
stamp="$(cd "$here" && cat build.sh go.mod go.sum cmd/*/main.go | sha256sum | cut -c1-16)"
fresh=1
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || fresh=0; done
if [[ $fresh == 1 && "$(cat "$out/.stamp" 2> /dev/null)" == "$stamp" ]]; then
    echo "$out"
    exit 0
fi
mkdir -p "$out"
start=$SECONDS
for b in "${binaries[@]}"; do
    echo "tools/k8s/build.sh: building $b ..." >&2
    (cd "$here" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -ldflags "$ldflags" \
        -o "$out/$b.tmp" "./cmd/$b")
    mv -f "$out/$b.tmp" "$out/$b"
done
echo "$stamp" > "$out/.stamp"
echo "tools/k8s/build.sh: built in $((SECONDS - start)) s" >&2
echo "$out"
