// Package policy decides whether an agent's shell command may run, and
// with which sandbox settings.
//
// A policy is a YAML file (.cordon.yaml in the workspace, or
// ~/.config/cordon/policy.yaml for the user) with a JSON Schema in
// schema.json:
//
//	version: 1
//	commands:
//	  - id: no-force-push
//	    program: git
//	    args: [push]
//	    any_arg: ["--force", "-f"]
//	    decision: deny
//	    reason: force pushes rewrite shared history
//	filesystem: {masked: [~/.config/app], protected: [deploy]}
//	limits: {memory: 2G, timeout: 5m}
//
// Parse reads one file strictly: an unknown key, a value of the wrong
// kind, a bad pattern or a missing field is an Error with file, line and
// column. Load merges the embedded default policy (default.yaml, carried
// as Go values in default_gen.go: run go generate after editing it), the
// user's and the project's, in that order. A broken file fails the load;
// it never falls back to something looser.
//
// # Decisions
//
// Decide analyses the shell text with shell.Analyze and judges every
// command in it, nested ones included: those in pipelines, substitutions,
// the code of bash -c and eval, and the commands run by wrappers such as
// sudo, xargs and find -exec. Each rule whose matchers all match a
// command applies to it, and the strictest decision of those wins
// (Deny > Ask > Allow), whichever layer wrote the rule. Then:
//
//   - a command no rule names by program gets Ask (RuleUnknownProgram);
//   - a command or text that is not statically known (a variable as a
//     command name, eval of a variable, code read from a pipe) gets at
//     least Ask (RuleDynamic);
//   - text that does not parse gets Deny (RuleParseError).
//
// The text's verdict is the strictest of its commands', and it names the
// rule and the reason that decided it.
//
// # Patterns
//
// Glob patterns (program, args, any_arg, via, code_exec, assigns,
// with_program) use "*" for any text, "/" included, "?" for one
// character, "[...]" for a class and "{a,b}" for alternatives; "\"
// quotes. Path patterns (path, dest, write, read, program_path) are
// matched component by component against a path resolved from the
// working directory:
//
//   - "/etc" matches /etc and everything below it;
//   - "~/.ssh" matches below the caller's home directory;
//   - ".git/hooks" (relative) matches wherever those components appear in
//     a row, in the workspace or anywhere else;
//   - "@outside-workspace" matches any path that is neither in the
//     workspace nor in the sandbox's private scratch space (/tmp,
//     /dev/shm, /dev/null and the like); "@workspace" one that is in the
//     workspace; "@other-home" one in another user's home directory.
//
// Paths are taken from every argument that is not an option, from the
// value of an option written --name=VALUE, and from after "=" and "@"
// (of=/dev/sda, -d @file, file=@key.pem).
//
// # Layers
//
// The user layer may change anything: a rule with the id of a default
// rule replaces it, which is how a user loosens the default. The project
// layer may only tighten: it adds rules (reusing an id is an error), may
// add masked and protected paths, lower limits, narrow the read-only
// roots and the network; an attempt to loosen is an error at the
// setting's position.
//
// # Agents' own tools
//
// An agent also reads, writes and fetches with tools of its own, outside
// any sandbox. DecidePath judges a file such a tool would read or write
// with the lists the sandbox enforces (masked credential stores,
// protected workspace paths, the workspace and the writable paths) and
// the command rules on redirections, symbolic links resolved. DecideHost
// judges a host with the network lists the egress proxy applies. Both
// return a Decision with a rule and a reason, like Decide.
package policy
