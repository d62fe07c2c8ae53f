//go:build race

package accuracy

// Under the race detector the month is generated for fewer elements, to
// keep the test within the CI's time budget.
const raceEnabled = true
