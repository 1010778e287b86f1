// Package doccheck keeps the user documentation honest: every test that
// SECURITY.md cites as proof exists, and every command the README shows is
// run by CI.
package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// link matches a markdown link [`Name`](path) or [text](path).
var link = regexp.MustCompile("\\[`?([^\\]`]+)`?\\]\\(([^)#\\s]+)(#[^)]*)?\\)")

// testName matches the names of test, fuzz, benchmark and example functions.
var testName = regexp.MustCompile(`^(Test|Fuzz|Benchmark|Example)[A-Za-z0-9_]*$`)

// TestSecurityCitationsExist: every [`TestName`](path_test.go) link in
// SECURITY.md and README.md names a file that exists and a function
// declared in it; every other relative link names an existing path.
func TestSecurityCitationsExist(t *testing.T) {
	for _, doc := range []string{"SECURITY.md", "README.md"} {
		text := read(t, doc)
		cited := 0
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			name, target := m[1], m[2]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(root, filepath.FromSlash(target))
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, target)
				continue
			}
			if !testName.MatchString(name) {
				continue
			}
			cited++
			src, _ := os.ReadFile(path)
			decl := regexp.MustCompile(`(?m)^func (\([^)]*\) )?` + regexp.QuoteMeta(name) + `\(`)
			if !decl.Match(src) {
				t.Errorf("%s cites %s in %s, which does not declare it", doc, name, target)
			}
		}
		if doc == "SECURITY.md" && cited < 20 {
			t.Errorf("SECURITY.md cites only %d tests; every guarantee needs its proof", cited)
		}
	}
}

// TestReadmeCommandsRunInCI: every command line in the README's sh blocks
// appears in a CI script, so CI runs what a newcomer is told to run.
func TestReadmeCommandsRunInCI(t *testing.T) {
	readme := read(t, "README.md")
	var ci strings.Builder
	ci.WriteString(read(t, ".ci/run"))
	parts, _ := filepath.Glob(filepath.Join(root, ".ci", "parts", "*.sh"))
	for _, p := range parts {
		b, _ := os.ReadFile(p)
		ci.Write(b)
	}
	commands := 0
	inBlock := false
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			inBlock = true
			continue
		case strings.HasPrefix(line, "```"):
			inBlock = false
			continue
		}
		if !inBlock {
			continue
		}
		cmd := strings.TrimSpace(line)
		if i := strings.Index(cmd, " #"); i >= 0 {
			cmd = strings.TrimSpace(cmd[:i])
		}
		if cmd == "" || strings.HasPrefix(cmd, "#") {
			continue
		}
		commands++
		// "VAR=value cmd" runs cmd with other settings: CI must run cmd.
		for {
			f := strings.Fields(cmd)
			if len(f) < 2 || !strings.Contains(f[0], "=") || strings.HasPrefix(f[0], "-") {
				break
			}
			cmd = strings.TrimSpace(strings.TrimPrefix(cmd, f[0]))
		}
		// .ci/run runs every .ci/parts/*.sh.
		if part, ok := strings.CutPrefix(cmd, "bash "); ok && strings.HasPrefix(part, ".ci/parts/") {
			if _, err := os.Stat(filepath.Join(root, part)); err == nil {
				continue
			}
		}
		if !strings.Contains(ci.String(), cmd) {
			t.Errorf("README command %q is not run by .ci/run or .ci/parts/*.sh", cmd)
		}
	}
	if commands < 2 {
		t.Errorf("README shows %d commands; it must show at least the demo and the tests", commands)
	}
}
