// Command gensamples writes the true- and false-positive samples of
// gitleaks' rules to a JSON file for verify's tests.
//
// gitleaks defines each rule in cmd/generate/config/rules with samples
// that it checks with utils.Validate, many of them built at run time
// (utils.GenerateSampleSecrets, secrets.NewSecret). So the samples are
// taken where they are made: the rules package and its utils are copied
// from the module cache into a scratch module, Validate is made to
// record what it is given, and every rule constructor that gitleaks'
// own config generator calls is called. The samples are fakes made by
// gitleaks' generators or written in its source; none is a credential.
//
// Usage: go run ./internal/gensamples -o testdata/gitleaks-samples.json
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

const gitleaks = "github.com/zricethezav/gitleaks/v8"

func main() {
	out := flag.String("o", "testdata/gitleaks-samples.json", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	info, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}} {{.GoMod}}", gitleaks).Output()
	if err != nil {
		return fmt.Errorf("locate %s: %w", gitleaks, err)
	}
	f := strings.Fields(string(info))
	if len(f) < 2 {
		return fmt.Errorf("locate %s: %q", gitleaks, info)
	}
	dir, version := f[0], f[1]
	work, err := os.MkdirTemp("", "gensamples")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	gomod := fmt.Sprintf("module gensamples\n\ngo 1.24\n\nrequire %s %s\n", gitleaks, version)
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	// The scratch module needs the sums of gitleaks and of its
	// dependencies: ours list the first, gitleaks' the others.
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("locate go.mod: %w", err)
	}
	var sum []byte
	for _, p := range []string{filepath.Join(filepath.Dir(strings.TrimSpace(string(root))), "go.sum"), filepath.Join(dir, "go.sum")} {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum = append(sum, b...)
	}
	if err := os.WriteFile(filepath.Join(work, "go.sum"), sum, 0o644); err != nil {
		return err
	}

	utilsImport := gitleaks + "/cmd/generate/config/utils"
	if err := copyPackage(filepath.Join(dir, "cmd/generate/config/utils"), filepath.Join(work, "utils"), func(name string, src []byte) []byte {
		if name != "validate.go" {
			return src
		}
		src = bytes.Replace(src, []byte("r := &rule\n"), []byte("r := &rule\n\trecord(rule.RuleID, truePositives, falsePositives)\n"), 1)
		return src
	}); err != nil {
		return err
	}
	hook := `package utils

// Sample is what one rule was validated with.
type Sample struct {
	Rule string   ` + "`json:\"rule\"`" + `
	TPs  []string ` + "`json:\"tps\"`" + `
	FPs  []string ` + "`json:\"fps\"`" + `
}

// Samples are recorded by Validate.
var Samples []Sample

func record(id string, tps, fps []string) { Samples = append(Samples, Sample{id, tps, fps}) }
`
	if err := os.WriteFile(filepath.Join(work, "utils", "record.go"), []byte(hook), 0o644); err != nil {
		return err
	}
	if err := copyPackage(filepath.Join(dir, "cmd/generate/config/rules"), filepath.Join(work, "rules"), func(_ string, src []byte) []byte {
		return bytes.ReplaceAll(src, []byte(`"`+utilsImport+`"`), []byte(`"gensamples/utils"`))
	}); err != nil {
		return err
	}
	if n := countValidate(filepath.Join(work, "utils", "validate.go")); n != 1 {
		return fmt.Errorf("patching gitleaks' utils.Validate: found %d places, want 1", n)
	}

	// Call every rule constructor gitleaks' config generator calls.
	gen, err := os.ReadFile(filepath.Join(dir, "cmd/generate/config/main.go"))
	if err != nil {
		return err
	}
	calls := regexp.MustCompile(`(?m)^\s*rules\.\w+\(\)`).FindAll(gen, -1)
	if len(calls) < 100 {
		return fmt.Errorf("found only %d rule constructors in gitleaks' config generator", len(calls))
	}
	var m bytes.Buffer
	m.WriteString("package main\n\nimport (\n\t\"encoding/json\"\n\t\"os\"\n\t\"sort\"\n\n\t\"gensamples/rules\"\n\t\"gensamples/utils\"\n)\n\nfunc main() {\n")
	for _, c := range calls {
		fmt.Fprintf(&m, "\t%s\n", bytes.TrimSpace(c))
	}
	m.WriteString("\tsort.SliceStable(utils.Samples, func(i, j int) bool { return utils.Samples[i].Rule < utils.Samples[j].Rule })\n")
	m.WriteString("\te := json.NewEncoder(os.Stdout)\n\te.SetIndent(\"\", \" \")\n\tif err := e.Encode(utils.Samples); err != nil {\n\t\tpanic(err)\n\t}\n}\n")
	if err := os.WriteFile(filepath.Join(work, "main.go"), m.Bytes(), 0o644); err != nil {
		return err
	}

	cmd := exec.Command("go", "run", ".")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Stderr = os.Stderr
	js, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("run the rule constructors: %w", err)
	}
	return os.WriteFile(out, js, 0o644)
}

func countValidate(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("record(rule.RuleID"))
}

func copyPackage(src, dst string, edit func(name string, src []byte) []byte) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, name), edit(name, b), 0o644); err != nil {
			return err
		}
	}
	return nil
}
