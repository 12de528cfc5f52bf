package sync

import (
	gosync "sync"

	"github.com/gossipchain/gossipchain/chain"
)

// maxCachedAnswers bounds the answers kept for one head.
const maxCachedAnswers = 1024

// answerCache keeps the verified answers given at one head; a new head
// empties it. It is safe for concurrent use.
type answerCache struct {
	mu      gosync.Mutex
	head    chain.Hash
	answers map[string]any
}

func newAnswerCache() *answerCache { return &answerCache{answers: make(map[string]any)} }

func (c *answerCache) get(head chain.Hash, key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.head != head {
		return nil, false
	}
	v, ok := c.answers[key]
	return v, ok
}

func (c *answerCache) put(head chain.Hash, key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.head != head || len(c.answers) >= maxCachedAnswers {
		c.head, c.answers = head, make(map[string]any)
	}
	c.answers[key] = v
}
