// Command flytewf starts and inspects Flyte workflow executions on a Kubernetes API without flyteadmin.
//
// It does what flyteadmin does between "an execution was requested" and "propeller sees a FlyteWorkflow":
// it reads flytekit-serialized entities (the .pb files of `pyflyte package` or `pyflyte serialize`),
// compiles the workflow with propeller's own compiler, offloads the execution inputs to blob storage
// (metadata/<project>/<domain>/<name>/inputs, as flyteadmin's OffloadLiteralMap does), builds the
// FlyteWorkflow custom resource with propeller's transformer (compiler/transformers/k8s) and creates it.
// Propeller, unmodified, then runs it. Afterwards it reads status and outputs back.
//
//	flytewf create  --config propeller.yaml --kubeconfig KUBECONFIG --pkg flyte-package.tgz \
//	                --launchplan workflows.basic.wf [--input x=3] [--name EXEC] [--project P --domain D]
//	flytewf get     --config propeller.yaml --kubeconfig KUBECONFIG -n NAMESPACE NAME   # JSON summary
//	flytewf wait    ... -n NAMESPACE NAME --timeout 5m                                 # until terminal
//
// The --config file is read for its `storage:` section only (the same file propeller uses), so both
// agree on where blobs live.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: flytewf <command> [flags]

commands:
  create   compile a serialized workflow and create its FlyteWorkflow (prints the execution name)
  get      print an execution's phase, error, node phases and outputs as JSON
  wait     wait until an execution is terminal, then print it like get
  compile  print the FlyteWorkflow that create would submit (YAML-ish JSON), create nothing

run 'flytewf <command> -h' for its flags`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "create":
		err = runCreate(os.Args[2:], false)
	case "compile":
		err = runCreate(os.Args[2:], true)
	case "get":
		err = runGet(os.Args[2:], false)
	case "wait":
		err = runGet(os.Args[2:], true)
	case "-h", "--help", "help":
		fmt.Println(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "flytewf: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "flytewf %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
