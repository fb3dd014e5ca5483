// Command flyte is Flyte's single binary (flyteadmin, flytepropeller, datacatalog
// and the data proxy in one process), built unchanged from Flyte's published Go
// modules so kubeshim can run it against its own Kubernetes API.
package main

import (
	"os"

	"github.com/flyteorg/flyte/cmd/single"
	// Registers the task plugins (container, k8s-array, ...) with propeller.
	_ "github.com/flyteorg/flyte/flytepropeller/plugins"
)

func main() {
	// Execute has already printed the error.
	if err := single.Execute(); err != nil {
		os.Exit(1)
	}
}
