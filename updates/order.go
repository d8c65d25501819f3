package updates

import "container/heap"

// requiresOrder orders packs so that each comes after the packs among them
// it requires (Kahn's algorithm, ties broken by name, so the order is the
// same every time). Requirements on packs not in the list are ignored.
// Packs caught in a cycle, or behind one, are returned in rest.
func requiresOrder(packs []string, requires func(pack string) []string) (ordered, rest []string) {
	in := map[string]bool{}
	for _, p := range packs {
		in[p] = true
	}
	waiting := map[string]int{} // packs of the list each pack still waits for
	dependents := map[string][]string{}
	for _, p := range packs {
		for _, dep := range requires(p) {
			if in[dep] && dep != p {
				waiting[p]++
				dependents[dep] = append(dependents[dep], p)
			}
		}
	}
	free := &names{}
	for _, p := range packs {
		if waiting[p] == 0 {
			heap.Push(free, p)
		}
	}
	done := map[string]bool{}
	for free.Len() > 0 {
		p := heap.Pop(free).(string)
		done[p] = true
		ordered = append(ordered, p)
		for _, d := range dependents[p] {
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(free, d)
			}
		}
	}
	for _, p := range packs {
		if !done[p] {
			rest = append(rest, p)
		}
	}
	return ordered, rest
}

// names is a min-heap of pack names.
type names []string

func (h names) Len() int           { return len(h) }
func (h names) Less(i, j int) bool { return h[i] < h[j] }
func (h names) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *names) Push(x any)        { *h = append(*h, x.(string)) }
func (h *names) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
