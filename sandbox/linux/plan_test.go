package linux

import (
	"bytes"
	"reflect"
	"testing"
)

// fill sets every field reachable from v to a value other than its zero
// value, so that a field the codec does not carry shows up as lost.
func fill(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), seed)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.String:
		v.SetString("s" + string(rune('a'+*seed%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(-int64(*seed) * 1000003)
	case reflect.Uint16:
		v.SetUint(uint64(*seed))
	case reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*seed) * 1000003)
	default:
		panic("fill: no value for " + v.Type().String())
	}
}

// Every field of the plan reaches the init as the parent set it.
func TestPlanRoundTrip(t *testing.T) {
	var want plan
	seed := 0
	fill(reflect.ValueOf(&want).Elem(), &seed)
	b, err := want.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := readPlan(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("plan changed on the way:\n got %+v\nwant %+v", *got, want)
	}

	// Empty lists stay empty and nil ones nil; the init tells them apart
	// nowhere today, but a copy should be a copy.
	empty := plan{Args: []string{}, Env: nil, Landlock: landlockPlan{BindPorts: []uint16{}}}
	b, _ = empty.encode()
	got, err = readPlan(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, empty) {
		t.Errorf("empty plan changed on the way:\n got %#v\nwant %#v", *got, empty)
	}
}

// A plan cut short anywhere is refused, not half read.
func TestPlanTruncated(t *testing.T) {
	var p plan
	seed := 0
	fill(reflect.ValueOf(&p).Elem(), &seed)
	b, _ := p.encode()
	for n := 0; n < len(b); n++ {
		if _, err := readPlan(bytes.NewReader(b[:n])); err == nil {
			t.Fatalf("a plan cut to %d of %d bytes was accepted", n, len(b))
		}
	}
	// The length says more than follows: the same.
	cut := append([]byte(nil), b...)
	cut[0]--
	if _, err := readPlan(bytes.NewReader(cut)); err == nil {
		t.Error("a plan with bytes past its end was accepted")
	}
}

func FuzzReadPlan(f *testing.F) {
	var p plan
	seed := 0
	fill(reflect.ValueOf(&p).Elem(), &seed)
	b, _ := p.encode()
	f.Add(b)
	b, _ = (&plan{}).encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readPlan(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What was read encodes back to what was read.
		again, err := got.encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := readPlan(bytes.NewReader(again))
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("re-encoded plan reads back differently: %v", err)
		}
	})
}
