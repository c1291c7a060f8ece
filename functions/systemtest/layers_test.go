package systemtest_test

import (
	"go/build"
	"os/exec"
	"strings"
	"testing"
)

// TestLayers holds the imports to the layering the code is written in:
// the domain (shared/sale) on the standard library alone, shared code never
// on the functions, and the HTTP edge (shared/web) never on the store.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "github.com/seckill/seckill/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/seckill/seckill/"
	checked := 0
	for _, pkg := range strings.Fields(string(out)) {
		p, err := build.Import(pkg, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			switch {
			case pkg == mod+"shared/sale" && strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
				t.Errorf("the domain imports %s: it must hold to the standard library", imp)
			case pkg == mod+"shared/sale" && strings.HasPrefix(imp, mod):
				t.Errorf("the domain imports %s", imp)
			case strings.HasPrefix(pkg, mod+"shared/") && strings.HasPrefix(imp, mod+"functions/"):
				t.Errorf("%s imports %s: shared code never depends on a function", pkg, imp)
			case pkg == mod+"shared/web" && imp == mod+"shared/store":
				t.Errorf("the HTTP edge imports the store")
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no import checked")
	}
}
