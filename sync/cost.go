package sync

import "time"

// charge waits for the simulated cost of adding n blocks received from the
// network: n validations (Config.ValidateCost) and, if store, one write
// (Config.StoreCost). It returns at once when both are zero, as in
// production, and when the service closes.
func (s *Service) charge(n int, store bool) {
	d := time.Duration(n) * s.cfg.ValidateCost
	if store {
		d += s.cfg.StoreCost
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}
