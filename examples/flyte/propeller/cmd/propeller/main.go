// Command propeller is stock FlytePropeller v1.16.8 (flytepropeller/cmd/controller),
// built from Flyte's published Go modules with the task plugins that need no
// third-party operator: container/sidecar/pod, k8s-array and echo.
//
// Flyte's own propeller main blank-imports flytepropeller/plugins, which also
// registers spark (its kubeflow/spark-operator dependency is not served by the
// Go module proxy here), dask, ray, kubeflow and the web-API plugins; those need
// CRDs or cloud services kubeshim does not provide, so they are left out.
package main

import (
	"github.com/flyteorg/flyte/flytepropeller/cmd/controller/cmd"

	// k8s-array: map tasks of task type container_array.
	_ "github.com/flyteorg/flyte/flyteplugins/go/tasks/plugins/array/k8s"
	// container, sidecar and pod: every Python task runs as a Pod.
	_ "github.com/flyteorg/flyte/flyteplugins/go/tasks/plugins/k8s/pod"
	// echo: passes inputs through, no Pod.
	_ "github.com/flyteorg/flyte/flyteplugins/go/tasks/plugins/testing"
)

func main() { cmd.Execute() }
