package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// goFiles returns the repository's Go files (every module, nested ones
// included), as paths relative to root, skipping build output and
// dependencies.
func goFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "artifacts":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// threatTest matches the declaration of a TestThreatNN function.
var threatTest = regexp.MustCompile(`(?m)^func (TestThreat(\d+)_[A-Za-z0-9_]*)\(`)

// threatRow matches a row of SECURITY.md's threat table: "| NN | ...".
var threatRow = regexp.MustCompile(`(?m)^\| *(\d+) *\|(.*)$`)

// TestEveryThreatTestHasARow: the threat model in SECURITY.md has one row
// per threat number, each TestThreatNN in the repository has the row NN,
// and each row cites at least one test by name, so a reader of a test
// name finds the threat it proves and a reader of a threat finds its test.
func TestEveryThreatTestHasARow(t *testing.T) {
	security := read(t, "SECURITY.md")
	rows := map[int]string{}
	for _, m := range threatRow.FindAllStringSubmatch(security, -1) {
		n, _ := strconv.Atoi(m[1])
		if _, dup := rows[n]; dup {
			t.Errorf("SECURITY.md has two rows numbered %d", n)
		}
		rows[n] = m[2]
	}
	if len(rows) == 0 {
		t.Fatal("SECURITY.md has no threat table rows (| NN | threat | defence | proof |)")
	}
	tests := map[int][]string{}
	for _, f := range goFiles(t) {
		if !strings.HasSuffix(f, "_test.go") {
			continue
		}
		src := read(t, f)
		for _, m := range threatTest.FindAllStringSubmatch(src, -1) {
			n, _ := strconv.Atoi(m[2])
			tests[n] = append(tests[n], m[1])
		}
	}
	for n, names := range tests {
		if _, ok := rows[n]; !ok {
			slices.Sort(names)
			t.Errorf("%s: no row %d in SECURITY.md's threat model", strings.Join(names, ", "), n)
		}
	}
	for n, row := range rows {
		if !regexp.MustCompile(`(Test|Fuzz)[A-Z][A-Za-z0-9_]*`).MatchString(row) {
			t.Errorf("SECURITY.md threat row %d cites no test", n)
		}
	}
}

// mdName matches a Markdown file name as a comment would write it.
var mdName = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)

// shippedDocs returns the repository's Markdown files, relative to root.
func shippedDocs(t *testing.T) []string {
	t.Helper()
	var docs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			docs = append(docs, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestGoFilesNameOnlyShippedDocs: every .md file that a Go file names (in
// a comment, a string or a test name) is a file the repository ships: the
// name is a repository path, or the end of one. A comment that points at a
// document the repository does not have leaves its reader stranded.
func TestGoFilesNameOnlyShippedDocs(t *testing.T) {
	docs := shippedDocs(t)
	shipped := func(name string) bool {
		name = strings.TrimPrefix(name, "./")
		for _, d := range docs {
			if d == name || strings.HasSuffix(d, "/"+name) {
				return true
			}
		}
		return false
	}
	for _, f := range goFiles(t) {
		if strings.HasPrefix(f, "internal/doccheck/") {
			continue // this package names documents by example
		}
		for i, line := range strings.Split(read(t, f), "\n") {
			if strings.Contains(line, "://") {
				continue // a URL names a document elsewhere, on purpose
			}
			for _, name := range mdName.FindAllString(line, -1) {
				if !shipped(name) {
					t.Errorf("%s:%d names %s, which the repository does not have", f, i+1, name)
				}
			}
		}
	}
}
