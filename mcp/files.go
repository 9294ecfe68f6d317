package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/verify"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The file tools: guard's file operations, which hold the sandbox's rules.

// ReadInput is the input of read_file.
type ReadInput struct {
	Path     string `json:"path" jsonschema:"the file, relative to the workspace or absolute"`
	MaxBytes int64  `json:"max_bytes,omitempty" jsonschema:"return at most this many bytes (default and most: 1 MiB)"`
}

// FileResult is the structured result of the file tools.
type FileResult struct {
	Path      string             `json:"path,omitempty"`
	Content   string             `json:"content,omitempty"`
	Size      int64              `json:"size,omitempty"`
	Truncated bool               `json:"truncated,omitempty"`
	Findings  []verify.Finding   `json:"findings,omitempty"`
	Entries   []guard.DirEntry   `json:"entries,omitempty"`
	Changes   []audit.FileChange `json:"changes,omitempty"`
	Decision  *Decision          `json:"decision,omitempty"`
	Error     string             `json:"error,omitempty"`
}

func (s *server) fileRequest(req *sdk.CallToolRequest, path string) *guard.FileRequest {
	return &guard.FileRequest{
		Workspace: s.opts.Workspace, Path: path,
		Agent: s.agent(req.Session), Session: req.Session.ID(),
	}
}

// fileResult turns guard's answer into a tool result; text is the short
// form for clients that show only text.
func fileResult(resp *guard.FileResponse, err error, text func(*FileResult) string) (*sdk.CallToolResult, *FileResult, error) {
	out := &FileResult{}
	if resp != nil {
		out.Path, out.Size, out.Truncated = resp.Path, resp.Size, resp.Truncated
		out.Content = string(resp.Content)
		out.Findings, out.Entries, out.Changes = resp.Findings, resp.Entries, resp.Changes
	}
	if err != nil {
		var denied *guard.DeniedError
		if errors.As(err, &denied) {
			out.Decision = decision(denied.Decision, denied.Approval)
		}
		out.Content, out.Error = "", err.Error()
		return errorResult(out, err.Error())
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: text(out)}}}, out, nil
}

func (s *server) readFile(ctx context.Context, req *sdk.CallToolRequest, in ReadInput) (*sdk.CallToolResult, *FileResult, error) {
	limit := min(in.MaxBytes, guard.DefaultReadLimit)
	resp, err := s.guard.ReadFile(ctx, s.fileRequest(req, in.Path), limit)
	return fileResult(resp, err, func(out *FileResult) string {
		if out.Truncated {
			return out.Content + fmt.Sprintf("\n[cordon] truncated: %d of %d bytes shown", len(out.Content), out.Size)
		}
		return out.Content
	})
}

// ListInput is the input of list_directory.
type ListInput struct {
	Path string `json:"path,omitempty" jsonschema:"the directory, relative to the workspace or absolute (default: the workspace)"`
}

func (s *server) listDirectory(ctx context.Context, req *sdk.CallToolRequest, in ListInput) (*sdk.CallToolResult, *FileResult, error) {
	if in.Path == "" {
		in.Path = "."
	}
	resp, err := s.guard.ListDir(ctx, s.fileRequest(req, in.Path))
	return fileResult(resp, err, func(out *FileResult) string {
		var b strings.Builder
		for _, e := range out.Entries {
			b.WriteString(e.Name)
			if e.Type == "dir" {
				b.WriteByte('/')
			}
			b.WriteByte('\n')
		}
		return b.String()
	})
}

// WriteInput is the input of write_file.
type WriteInput struct {
	Path    string `json:"path" jsonschema:"the file, relative to the workspace"`
	Content string `json:"content" jsonschema:"the whole new content of the file"`
}

func (s *server) writeFile(ctx context.Context, req *sdk.CallToolRequest, in WriteInput) (*sdk.CallToolResult, *FileResult, error) {
	resp, err := s.guard.WriteFile(ctx, s.fileRequest(req, in.Path), []byte(in.Content))
	return fileResult(resp, err, func(out *FileResult) string {
		return fmt.Sprintf("wrote %d bytes to %s", len(in.Content), out.Path)
	})
}

// PatchInput is the input of apply_patch.
type PatchInput struct {
	Patch string `json:"patch" jsonschema:"a unified diff, as git diff or diff -u writes it, with paths relative to the workspace"`
}

func (s *server) applyPatch(ctx context.Context, req *sdk.CallToolRequest, in PatchInput) (*sdk.CallToolResult, *FileResult, error) {
	resp, err := s.guard.ApplyPatch(ctx, s.fileRequest(req, ""), in.Patch)
	return fileResult(resp, err, func(out *FileResult) string {
		var b strings.Builder
		for _, c := range out.Changes {
			fmt.Fprintf(&b, "%s %s\n", c.Op, c.Path)
		}
		return b.String()
	})
}
