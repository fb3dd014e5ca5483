// Package clientgo is a conformance suite that drives a live kubeshim with client-go and
// controller-runtime. All tests live in *_test.go files; see README.md.
package clientgo
