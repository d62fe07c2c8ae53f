package accounts

import (
	"context"
	"fmt"
	"time"
)

// Work is counted in reference nanoseconds: what one test of a candidate
// costs on a 2020s x86-64 core with this package's code (see
// bench_test.go). Counting work rather than wall time keeps the report
// the same on a fast and a slow machine; the wall-clock timeout only
// guards against a machine far slower than the reference.
func testCost(h cryptHash) int64 {
	switch h.Alg {
	case algDES:
		return 90_000
	case algMD5:
		return 200_000
	case algSHA256:
		return 20_000 + 175*int64(h.Rounds)
	case algSHA512:
		return 20_000 + 440*int64(h.Rounds)
	case algBcrypt:
		return 90_000 << uint(h.Rounds)
	}
	return 0
}

// cracker tests hashes against the default list within a work budget.
type cracker struct {
	list     []defaultPassword
	left     int64 // reference ns left in the total budget
	perHash  int64
	deadline time.Time
}

func newCracker(list []defaultPassword, total, perHash, timeout time.Duration) *cracker {
	return &cracker{list: list, left: int64(total), perHash: int64(perHash), deadline: time.Now().Add(timeout)}
}

// crackResult says what testing one hash found.
type crackResult struct {
	Found    bool
	Password string
	// Entry is the 1-based position in the bundled list, 0 when the match
	// was the empty password or the account's name.
	Entry  int
	Source string
	Tested int
	Total  int
	// Incomplete explains why not every candidate was tested.
	Incomplete string
}

// candidates are the empty password, the account's name, then the list.
func (c *cracker) candidates(user string) []defaultPassword {
	out := make([]defaultPassword, 0, len(c.list)+2)
	out = append(out, defaultPassword{"", "empty password"})
	seen := map[string]bool{"": true}
	if user != "" {
		out = append(out, defaultPassword{user, "the account's own name"})
		seen[user] = true
	}
	for _, d := range c.list {
		if !seen[d.Password] {
			seen[d.Password] = true
			out = append(out, d)
		}
	}
	return out
}

func (c *cracker) crack(ctx context.Context, h cryptHash, user string) crackResult {
	cands := c.candidates(user)
	res := crackResult{Total: len(cands)}
	cost := testCost(h)
	if cost <= 0 {
		res.Incomplete = "algorithm not supported"
		return res
	}
	spent := int64(0)
	for _, cand := range cands {
		switch {
		case cost > c.perHash:
			res.Incomplete = fmt.Sprintf("one test costs about %s, more than the per-hash budget of %s",
				time.Duration(cost).Round(time.Millisecond), time.Duration(c.perHash))
		case spent+cost > c.perHash:
			res.Incomplete = fmt.Sprintf("per-hash budget of %s used", time.Duration(c.perHash))
		case cost > c.left:
			res.Incomplete = "total budget for the default-password check used"
		case ctx.Err() != nil:
			res.Incomplete = "interrupted"
		case time.Now().After(c.deadline):
			res.Incomplete = "wall-clock timeout of the default-password check reached"
		}
		if res.Incomplete != "" {
			return res
		}
		spent += cost
		c.left -= cost
		res.Tested++
		if h.verify([]byte(cand.Password)) {
			res.Found, res.Password, res.Source = true, cand.Password, cand.Source
			res.Entry = c.entry(cand.Password)
			return res
		}
	}
	return res
}

// entry returns the 1-based position of pw in the list, 0 if absent.
func (c *cracker) entry(pw string) int {
	for i, d := range c.list {
		if d.Password == pw {
			return i + 1
		}
	}
	return 0
}
