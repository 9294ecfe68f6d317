package guard

import (
	"bytes"
	"io"
	"slices"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/verify"
)

// outputs is the way out of one run: each stream goes through its own
// verify.Stream to the caller's writer, or to a buffer the Response
// returns, and a digest of the raw bytes goes to the audit record.
type outputs struct {
	stdout, stderr io.Writer // what the sandbox writes to
	streams        [2]*verify.Stream
	raw            [2]*audit.OutputDigest
	bufs           [2]*bytes.Buffer
}

func newOutputs(req *Request, pol *policy.Policy) *outputs {
	o := &outputs{}
	dsts := [2]io.Writer{req.Stdout, req.Stderr}
	names := [2]string{"stdout", "stderr"}
	limit := req.Output.Limit
	if limit == 0 {
		limit = DefaultOutputLimit
	}
	dets, neutralize := detectors(req.Output, pol)
	var ws [2]io.Writer
	for i := range 2 {
		dst := dsts[i]
		if dst == nil {
			o.bufs[i] = &bytes.Buffer{}
			dst = o.bufs[i]
		}
		o.streams[i] = verify.NewStream(dst, verify.StreamOptions{
			Name: names[i], Detectors: dets, Neutralize: neutralize,
			Limit: limit, Idle: req.Output.Idle,
		})
		o.raw[i] = audit.NewOutputDigest(0)
		ws[i] = io.MultiWriter(o.raw[i], o.streams[i])
	}
	o.stdout, o.stderr = ws[0], ws[1]
	return o
}

// detectors are the output checks the policy asks for.
func detectors(opts OutputOptions, pol *policy.Policy) ([]verify.Detector, func(dst, src []byte) []byte) {
	return nil, nil
}

// close passes on what the streams still hold.
func (o *outputs) close() error {
	var first error
	for _, s := range o.streams {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (o *outputs) findings() []verify.Finding {
	all := slices.Concat(o.streams[0].Findings(), o.streams[1].Findings())
	if len(all) == 0 {
		return nil
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
