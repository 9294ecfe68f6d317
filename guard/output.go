package guard

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/verify"
)

// outputs is the way out of one run: each stream goes through its own
// verify.Stream to the caller's writer, or to a buffer the Response
// returns, and a digest of the raw bytes goes to the audit record.
//
// When the policy withholds output on injection signals, nothing is passed
// on until the command is done: then the output goes on whole, or a notice
// goes in its place.
type outputs struct {
	stdout, stderr io.Writer // what the sandbox writes to
	streams        [2]*verify.Stream
	raw            [2]*audit.OutputDigest
	bufs           [2]*bytes.Buffer
	dsts           [2]io.Writer // the caller's writers; nil keeps the buffer
	withhold       verify.Severity
	withheld       bool
}

func newOutputs(req *Request, pol *policy.Policy) *outputs {
	o := &outputs{dsts: [2]io.Writer{req.Stdout, req.Stderr}}
	names := [2]string{"stdout", "stderr"}
	conf := pol.Output.Effective()
	limit := req.Output.Limit
	if limit == 0 {
		limit = conf.Limit
	}
	if conf.Injection == "withhold" {
		o.withhold = verify.Severity(conf.WithholdAt)
	}
	dets, neutralize := detectors(req.Output, conf)
	idle := req.Output.Idle
	if o.withhold != "" {
		idle = 0
	}
	var ws [2]io.Writer
	for i := range 2 {
		dst := o.dsts[i]
		if dst == nil || o.withhold != "" {
			o.bufs[i] = &bytes.Buffer{}
			dst = o.bufs[i]
		}
		o.streams[i] = verify.NewStream(dst, verify.StreamOptions{
			Name: names[i], Detectors: dets, Neutralize: neutralize,
			Limit: limit, Idle: idle,
		})
		o.raw[i] = audit.NewOutputDigest(0)
		ws[i] = io.MultiWriter(o.raw[i], o.streams[i])
	}
	o.stdout, o.stderr = ws[0], ws[1]
	return o
}

// detectors are the output checks the policy asks for.
func detectors(opts OutputOptions, conf policy.Output) ([]verify.Detector, func(dst, src []byte) []byte) {
	var dets []verify.Detector
	if conf.Secrets == "flag" {
		dets = append(dets, flagOnly{verify.Secrets()})
	} else {
		dets = append(dets, verify.Secrets())
	}
	dets = append(dets,
		verify.Injection(verify.InjectionOptions{Strip: conf.Injection == "strip"}),
		verify.Terminal(verify.TerminalOptions{KeepColour: opts.Terminal}))
	// Whatever an edit left of a control sequence is made harmless last.
	neutralize := verify.Neutralize
	if opts.Terminal {
		neutralize = verify.NeutralizeColour
	}
	return dets, neutralize
}

// flagOnly reports what a detector finds and changes nothing.
type flagOnly struct{ verify.Detector }

func (f flagOnly) Scan(dst []verify.Match, buf []byte, from int, final bool) []verify.Match {
	n := len(dst)
	dst = f.Detector.Scan(dst, buf, from, final)
	for i := n; i < len(dst); i++ {
		dst[i].Replace = nil
	}
	return dst
}

// Pending passes on the detector's Pender, if it has one.
func (f flagOnly) Pending(buf []byte) int {
	if p, ok := f.Detector.(verify.Pender); ok {
		return p.Pending(buf)
	}
	return len(buf)
}

// close passes on what the streams still hold, and with withholding on,
// the whole output or the notice that stands for it.
func (o *outputs) close() error {
	var first error
	for _, s := range o.streams {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	if o.withhold == "" {
		return first
	}
	var signals []string
	for _, f := range o.findings() {
		if f.Kind == verify.KindInjection && f.Severity.Rank() >= o.withhold.Rank() {
			signals = append(signals, fmt.Sprintf("%s (%s)", f.Rule, f.Severity))
		}
	}
	for i, b := range o.bufs {
		if len(signals) > 0 {
			n := b.Len()
			b.Reset()
			fmt.Fprintf(b, "[cordon: output withheld (%d bytes): prompt-injection signals: %s]\n", n, strings.Join(slices.Compact(slices.Sorted(slices.Values(signals))), ", "))
		}
		if o.dsts[i] != nil {
			if _, err := o.dsts[i].Write(b.Bytes()); err != nil && first == nil {
				first = err
			}
			o.bufs[i] = nil
		}
	}
	if len(signals) > 0 {
		o.withheld = true
	}
	return first
}

func (o *outputs) findings() []verify.Finding {
	all := slices.Concat(o.streams[0].Findings(), o.streams[1].Findings())
	if len(all) == 0 {
		return nil
	}
	if o.withheld {
		for i := range all {
			if all[i].Kind != verify.KindTruncated {
				all[i].Action = verify.ActionWithheld
			}
		}
	}
	return all
}

func (o *outputs) digests() (stdout, stderr *audit.Output) {
	return o.raw[0].Output(), o.raw[1].Output()
}

// captured is the verified output kept for the Response.
func (o *outputs) captured() (stdout, stderr []byte) {
	if o.bufs[0] != nil {
		stdout = o.bufs[0].Bytes()
	}
	if o.bufs[1] != nil {
		stderr = o.bufs[1].Bytes()
	}
	return stdout, stderr
}
