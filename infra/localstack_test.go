package infra_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/store"
)

// TestLocalStackTables holds the init hook's create-table calls against
// the code's definitions.
func TestLocalStackTables(t *testing.T) {
	raw, err := os.ReadFile("../localstack/init/ready.d/tables.sh")
	if err != nil {
		t.Fatal(err)
	}
	code := codeTables()
	calls := strings.Split(string(raw), "awslocal dynamodb create-table")[1:]
	if len(calls) != len(code) {
		t.Fatalf("the hook creates %d tables, the code %d", len(calls), len(code))
	}
	attr := regexp.MustCompile(`AttributeName=(\w+),AttributeType=(\w)`)
	key := regexp.MustCompile(`AttributeName=(\w+),KeyType=(\w+)`)
	for _, call := range calls {
		name := strings.TrimPrefix(regexp.MustCompile(`--table-name (\S+)`).FindStringSubmatch(call)[1], "seckill-")
		s := newShape()
		for _, m := range attr.FindAllStringSubmatch(call, -1) {
			s.Attributes[m[1]] = m[2]
		}
		keys := func(text string) [2]string {
			var pairs [][2]string
			for _, m := range key.FindAllStringSubmatch(text, -1) {
				pairs = append(pairs, [2]string{m[1], m[2]})
			}
			return keySchema(pairs)
		}
		main, gsi, _ := strings.Cut(call, "--global-secondary-indexes")
		s.Key = keys(regexp.MustCompile(`--key-schema[^\n]*`).FindString(main))
		if gsi != "" {
			idx := regexp.MustCompile(`IndexName=([\w-]+)`).FindStringSubmatch(gsi)[1]
			s.Indexes[idx] = keys(gsi)
		}
		if m := regexp.MustCompile(`StreamViewType=(\w+)`).FindStringSubmatch(call); m != nil {
			s.Stream = m[1]
		}
		if !equalShape(s, code[store.Table(name)]) {
			t.Errorf("hook table %s: %v, the code creates %v", name, s, code[store.Table(name)])
		}
	}
}
