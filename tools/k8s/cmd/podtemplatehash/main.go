// Command podtemplatehash prints the pod-template-hash the kube-controller-manager gives pod templates
// (controller.ComputeHash), the reference kubeshim's hash is tested against.
//
// It reads a JSON array of {"template": <PodTemplateSpec>, "collisionCount": <int32 or null>} on stdin and writes
// a JSON array of their hashes; with -dump, the text hashed instead (dump.ForHash). Each template makes the trip
// the controller's copy makes, JSON into the API server, protobuf out of storage and to the informer, so
// quantities are canonical and empty lists and maps nil, as the controller sees them.
//
//	cd tools/k8s && echo '[{"template": {...}}]' | go run ./cmd/podtemplatehash
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/kubernetes/pkg/controller"
)

type input struct {
	Template       v1.PodTemplateSpec `json:"template"`
	CollisionCount *int32             `json:"collisionCount"`
}

func main() {
	dumpText := flag.Bool("dump", false, "print the text hashed instead of the hash")
	flag.Parse()
	var inputs []input
	if err := json.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		fmt.Fprintln(os.Stderr, "podtemplatehash:", err)
		os.Exit(2)
	}
	out := make([]string, 0, len(inputs))
	for _, in := range inputs {
		wire, err := in.Template.Marshal()
		if err != nil {
			fmt.Fprintln(os.Stderr, "podtemplatehash:", err)
			os.Exit(1)
		}
		var stored v1.PodTemplateSpec
		if err := stored.Unmarshal(wire); err != nil {
			fmt.Fprintln(os.Stderr, "podtemplatehash:", err)
			os.Exit(1)
		}
		if *dumpText {
			out = append(out, dump.ForHash(stored))
		} else {
			out = append(out, controller.ComputeHash(&stored, in.CollisionCount))
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
