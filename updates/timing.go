package updates

import (
	"context"
	"time"
)

// StepTime is how long one step of a batch took.
type StepTime struct {
	Step       string `json:"step"`
	DurationMS int64  `json:"duration_ms"`
}

// timed wraps each step's run so that its time is recorded in b.timings,
// in the order the steps ran: what a rehearsal reports as the downtime to
// expect.
func (b *batchRun) timed(steps []step) []step {
	for i := range steps {
		s := &steps[i]
		run, name := s.run, s.name
		s.run = func(ctx context.Context) error {
			start := time.Now()
			var err error
			if run != nil {
				err = run(ctx)
			}
			b.timings = append(b.timings, StepTime{Step: name, DurationMS: time.Since(start).Milliseconds()})
			return err
		}
	}
	return steps
}
