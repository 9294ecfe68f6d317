package policy

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// TestSchema checks that schema.json names the keys the decoder knows,
// so that editors and the loader agree.
func TestSchema(t *testing.T) {
	data, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	type obj struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var s struct {
		obj
		Defs struct {
			Rule obj `json:"rule"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	keys := func(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }
	if got, want := keys(s.Properties), slices.Sorted(slices.Values(policyKeys)); !slices.Equal(got, want) {
		t.Errorf("top-level keys %v, want %v", got, want)
	}
	if got, want := keys(s.Defs.Rule.Properties), slices.Sorted(slices.Values(ruleKeys)); !slices.Equal(got, want) {
		t.Errorf("rule keys %v, want %v", got, want)
	}
	var req struct {
		Properties struct {
			Require struct {
				Items struct {
					Enum []string `json:"enum"`
				} `json:"items"`
			} `json:"require"`
		} `json:"properties"`
	}
	json.Unmarshal(data, &req)
	for _, p := range sandbox.Protections {
		if !slices.Contains(req.Properties.Require.Items.Enum, string(p)) {
			t.Errorf("schema does not list protection %s", p)
		}
	}
}
