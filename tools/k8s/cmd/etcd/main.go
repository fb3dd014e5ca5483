// Command etcd is the stock etcd server (go.etcd.io/etcd/server/v3), kube-apiserver's storage in the reference
// stack.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
