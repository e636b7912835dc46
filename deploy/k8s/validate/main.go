// Command validate renders kustomizations with kustomize's own Go API and decodes every resource
// strictly into the Kubernetes API types (k8s.io/api): an unknown or misspelt field, a duplicate
// field, a wrong value type or a kind the API does not have is an error. The decoded objects are
// printed as one JSON array (re-encoded from the typed values, so only what the API kept) for
// test/k8s-manifests.test.mjs to check otelkit's own rules on.
//
//	validate DIR...   each DIR holds a kustomization.yaml
//
// Custom resources (the operator's Instrumentation) are not in k8s.io/api: kinds listed in
// customKinds pass through undecoded, marked "custom": true, and the test checks them itself.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

var customKinds = map[schema.GroupVersionKind]bool{
	{Group: "opentelemetry.io", Version: "v1alpha1", Kind: "Instrumentation"}: true,
}

type decoded struct {
	Dir    string          `json:"dir"`
	Custom bool            `json:"custom"`
	Object json.RawMessage `json:"object"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate DIR...")
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			fail("scheme: %v", err)
		}
	}
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})

	var out []decoded
	errors := 0
	for _, dir := range os.Args[1:] {
		// Default options: load restrictions RootOnly, as `kubectl apply -k` has them.
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: kustomize: %v\n", dir, err)
			errors++
			continue
		}
		for _, res := range resMap.Resources() {
			id := fmt.Sprintf("%s: %s/%s", dir, res.GetKind(), res.GetName())
			y, err := res.AsYAML()
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", id, err)
				errors++
				continue
			}
			gvk := schema.FromAPIVersionAndKind(res.GetApiVersion(), res.GetKind())
			if customKinds[gvk] {
				j, err := res.MarshalJSON()
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", id, err)
					errors++
					continue
				}
				out = append(out, decoded{Dir: dir, Custom: true, Object: j})
				continue
			}
			obj, _, err := strict.Decode(y, nil, nil)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", id, err)
				errors++
				continue
			}
			j, err := json.Marshal(obj)
			if err != nil {
				fail("%s: encode: %v", id, err)
			}
			out = append(out, decoded{Dir: dir, Object: j})
		}
	}
	if errors > 0 {
		fail("%d resource(s) failed", errors)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail("write: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "validate: "+format+"\n", args...)
	os.Exit(1)
}
