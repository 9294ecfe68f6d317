package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultProtected are the workspace paths that run code or grant
// permissions later, outside the sandbox, and so stay read-only inside it.
var DefaultProtected = []string{
	".git/hooks",
	".git/config",
	".git/commondir",
	".git/config.worktree",
	".git/modules",
	".git/worktrees",
	".cordon.yaml",
	".claude",
	".mcp.json",
	".codex",
	".cursor",
	".vscode",
	".idea",
	".devcontainer",
	".envrc",
}

// homeSecrets are credential stores and secret-bearing files relative to a
// home directory. Masked by default.
var homeSecrets = []string{
	".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".config/gh",
	".config/hub", ".config/op", ".config/doctl", ".config/helm",
	".netrc", ".git-credentials", ".config/git/credentials",
	".docker", ".kube", ".terraform.d", ".vault-token", ".pgpass",
	".npmrc", ".yarnrc", ".pypirc", ".gem/credentials", ".cargo/credentials",
	".cargo/credentials.toml", ".m2/settings.xml", ".gradle/gradle.properties",
	".config/pip", ".local/share/keyrings", ".password-store",
	".mozilla", ".config/google-chrome", ".config/chromium",
	".config/BraveSoftware", ".config/microsoft-edge", ".thunderbird",
	".bash_history", ".zsh_history", ".python_history", ".psql_history",
	".mysql_history", ".node_repl_history", ".lesshst", ".viminfo",
	".claude.json", ".claude/.credentials.json", ".codex/auth.json",
	".config/cordon", ".local/share/cordon", ".local/state/cordon",
}

// systemSecrets are host files that only root should read. They matter when
// cordon runs as root: the sandboxed process keeps uid 0 (without any
// capability), and file modes alone would let it read them.
var systemSecrets = []string{
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
	"/etc/sudoers", "/etc/sudoers.d", "/etc/ssh/ssh_host_rsa_key",
	"/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key",
	"/etc/ssh/ssh_host_dsa_key", "/etc/ssl/private", "/etc/security/opasswd",
	"/var/lib/docker", "/var/lib/containerd", "/var/lib/kubelet",
	"/run", "/var/log", "/root",
}

// DefaultMasked returns the credential locations hidden by default for a
// caller whose home directory is home.
//
// A caller running as root could read every user's files, so for root the
// credential stores of each home directory under /home are masked too.
func DefaultMasked(home string) []string {
	var m []string
	homes := []string{home}
	if os.Getuid() == 0 {
		if entries, err := os.ReadDir("/home"); err == nil {
			for _, e := range entries {
				if e.IsDir() {
					homes = append(homes, filepath.Join("/home", e.Name()))
				}
			}
		}
	}
	for _, h := range homes {
		if h == "" || h == "/" {
			continue
		}
		for _, p := range homeSecrets {
			m = append(m, filepath.Join(h, p))
		}
	}
	// cordon's own configuration (policy, audit key) and state (the audit
	// log) where the XDG variables move them.
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"} {
		if d := os.Getenv(v); filepath.IsAbs(d) {
			m = append(m, filepath.Join(d, "cordon"))
		}
	}
	for _, p := range systemSecrets {
		// A caller whose home is /root still needs to see its toolchains
		// there; its secrets inside it are masked one by one above.
		if p == "/root" && home == "/root" {
			continue
		}
		m = append(m, p)
	}
	return m
}

// DefaultEnvAllow names the variables passed through from the caller's
// environment by default. A trailing "*" matches a prefix.
var DefaultEnvAllow = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*",
	"TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TZ", "EDITOR", "PAGER",
	"GOPATH", "GOROOT", "GOFLAGS", "GOTOOLCHAIN", "GOPROXY", "GOPRIVATE",
	"GONOSUMDB", "GOSUMDB", "CGO_ENABLED", "CC", "CXX",
	"CARGO_HOME", "RUSTUP_HOME", "JAVA_HOME", "NVM_DIR", "PYENV_ROOT",
	"VIRTUAL_ENV", "CI",
}

// Environment builds a command's environment from the caller's: only the
// variables named in allow pass (a trailing "*" matches a prefix), then set
// adds or replaces. The result is sorted.
func Environment(caller []string, allow []string, set map[string]string) []string {
	out := map[string]string{}
	for _, kv := range caller {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if envAllowed(k, allow) {
			out[k] = v
		}
	}
	for k, v := range set {
		out[k] = v
	}
	env := make([]string, 0, len(out))
	for k, v := range out {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

func envAllowed(name string, allow []string) bool {
	for _, a := range allow {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			if strings.HasPrefix(name, p) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}

// ToolCaches gives toolchains a writable cache that is cordon's, not the
// caller's: it returns the variables that point each tool at a directory
// below dir. dir must be made writable in the sandbox (Filesystem.Writable).
func ToolCaches(dir string) map[string]string {
	return map[string]string{
		"XDG_CACHE_HOME":      filepath.Join(dir, "xdg"),
		"GOCACHE":             filepath.Join(dir, "go-build"),
		"GOLANGCI_LINT_CACHE": filepath.Join(dir, "golangci-lint"),
		"npm_config_cache":    filepath.Join(dir, "npm"),
		"YARN_CACHE_FOLDER":   filepath.Join(dir, "yarn"),
		"PIP_CACHE_DIR":       filepath.Join(dir, "pip"),
		"PYTHONPYCACHEPREFIX": filepath.Join(dir, "pycache"),
		"TMPDIR":              "/tmp",
	}
}

// DefaultCacheDir is the host directory holding cordon's tool caches for
// the current user.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cordon", "tools"), nil
}

// NewSpec returns a Spec with cordon's defaults for running args with
// workspace writable: the host read-only, credential stores masked, the
// default protected paths, no network, the default limits, and the caller's
// environment filtered through DefaultEnvAllow with tool caches set.
func NewSpec(workspace string, args []string) (*Spec, error) {
	home, _ := os.UserHomeDir()
	caches, err := DefaultCacheDir()
	if err != nil {
		return nil, fmt.Errorf("tool cache directory: %w", err)
	}
	return &Spec{
		Args: args,
		Env:  Environment(os.Environ(), DefaultEnvAllow, ToolCaches(caches)),
		Filesystem: Filesystem{
			Workspace:     workspace,
			ReadOnlyRoots: []string{"/"},
			Writable:      []string{caches},
			Masked:        DefaultMasked(home),
			Protected:     append([]string(nil), DefaultProtected...),
		},
		Network: Network{Mode: NetworkNone},
	}, nil
}
