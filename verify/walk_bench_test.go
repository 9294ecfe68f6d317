package verify

import (
	"fmt"
	"testing"
)

// The walk alone, by number of workers.
func BenchmarkWalkOnly(b *testing.B) {
	root := benchTree(b)
	for _, w := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprint(w), func(b *testing.B) {
			defer cpuTime(b)()
			for b.Loop() {
				walk(root, w, func(int, []byte, int, []byte, entry) {}, func(string) {})
			}
		})
	}
}
