package store

import "time"

// Now returns the chain's clock (Config.Now), the one its future-timestamp
// rule reads.
func (c *Chain) Now() time.Time { return c.now() }
