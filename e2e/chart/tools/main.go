// reel-chart-tools: the two upstream libraries the chart test asks about what it renders.
//
//	reel-chart-tools kstatus < objects.json   each object's status as Flux computes it (kstatus from
//	                                          github.com/fluxcd/cli-utils, the fork Flux builds with):
//	                                          one "STATUS<TAB>message" line per object
//	reel-chart-tools promql < exprs.json      each expression parsed by Prometheus's own PromQL parser:
//	                                          one "ok<TAB>type" or "error<TAB>message" line per expression
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: reel-chart-tools kstatus|promql < input.json")
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	switch os.Args[1] {
	case "kstatus":
		// apimachinery's JSON keeps whole numbers as int64, as the apiserver's objects have them
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		var objects []any
		if err := utiljson.Unmarshal(data, &objects); err != nil {
			fail(err)
		}
		for _, o := range objects {
			obj, ok := o.(map[string]any)
			if !ok {
				fail(fmt.Errorf("not an object: %v", o))
			}
			r, err := status.Compute(&unstructured.Unstructured{Object: obj})
			if err != nil {
				fail(err)
			}
			fmt.Fprintf(out, "%s\t%s\n", r.Status, r.Message)
		}
	case "promql":
		var exprs []string
		if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
			fail(err)
		}
		p := parser.NewParser(parser.Options{})
		for _, e := range exprs {
			expr, err := p.ParseExpr(e)
			if err != nil {
				fmt.Fprintf(out, "error\t%q\n", err.Error())
				continue
			}
			fmt.Fprintf(out, "ok\t%s\n", expr.Type())
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: reel-chart-tools kstatus|promql < input.json")
		os.Exit(2)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reel-chart-tools:", err)
	os.Exit(1)
}
