package exposure

import (
	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

var _ engine = (*policy.Engine)(nil)

// Assess measures inv against the packs compiled in eng at the date at:
// vendor shares, concentration, and the violations (due and upcoming).
func Assess(inv *inventory.Inventory, eng *policy.Engine, at inventory.Date) *Assessment {
	return assess(inv, eng, eng.Packs(), at)
}

// MakePlan builds the replacement plan for inv from the date from: one
// wave per deadline (rules already due gathered in a first, overdue wave),
// each listing the elements to act on so that the network meets every rule
// due by that deadline.
func MakePlan(inv *inventory.Inventory, eng *policy.Engine, from inventory.Date) *Plan {
	return makePlan(inv, eng, eng.Packs(), from)
}

// Diff compares two snapshots of an inventory at the date at.
func Diff(old, new *inventory.Inventory, eng *policy.Engine, at inventory.Date) *Change {
	return diff(old, new, eng, eng.Packs(), at)
}
