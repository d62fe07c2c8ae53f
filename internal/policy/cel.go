package policy

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
	celparser "github.com/google/cel-go/parser"

	"github.com/netvet/netvet/internal/inventory"
)

// Limits on CEL expressions in packs. Packs may come from anyone: an
// expression is bounded in size, nesting and evaluation cost.
const (
	MaxExprLen        = 4096    // code points in one scope or vendor_criteria
	maxExprRecursion  = 48      // parser nesting depth
	maxExprNodes      = 2000    // AST nodes, macros expanded
	MaxEvalCost       = 100_000 // cel.CostLimit for one evaluation
	celInterruptEvery = 100     // comprehension iterations between cancellation checks
)

// fieldID names an element variable of the CEL environment.
type fieldID uint8

const (
	fID fieldID = iota
	fName
	fVendor
	fVendorRaw
	fModel
	fSoftwareVersion
	fDomain
	fFunction
	fGeneration
	fPlane
	fSite
	fSiteSensitivity
	fInstallDate
	fPurchaseDate
	fTrafficShare
	fPremisesServed
	fManagedBy
	fSupportLocation
	fSanctionsAffected
	fTags
	fEvidence
	nFields
)

// fieldDef describes one variable: its CEL name and type, and whether it
// has few distinct values in a real inventory (so that memoising a rule's
// result by it pays).
type fieldDef struct {
	name string
	typ  *cel.Type
	few  bool
	doc  string
}

var fields = [nFields]fieldDef{
	fID:                {"id", cel.StringType, false, "element ID"},
	fName:              {"name", cel.StringType, false, "element name"},
	fVendor:            {"vendor", cel.StringType, true, "normalised vendor name, e.g. huawei"},
	fVendorRaw:         {"vendor_raw", cel.StringType, false, "vendor as the source wrote it"},
	fModel:             {"model", cel.StringType, true, "model"},
	fSoftwareVersion:   {"software_version", cel.StringType, true, "software version"},
	fDomain:            {"domain", cel.StringType, true, "network domain: ran, access-fixed, core-5g, core-epc, transport, oss-management, ..."},
	fFunction:          {"network_function", cel.StringType, true, "the element's function: gnb, olt, amf, ... (\"function\" is a reserved word in CEL)"},
	fGeneration:        {"generation", cel.StringType, true, "2G, 3G, 4G, 5G, 5G-NSA, 5G-SA, FTTP"},
	fPlane:             {"plane", cel.StringType, true, "user, control, management"},
	fSite:              {"site", cel.StringType, false, "site name"},
	fSiteSensitivity:   {"site_sensitivity", cel.StringType, true, "national-security, cni-safety-critical, military, nuclear, dense-urban, ..."},
	fInstallDate:       {"install_date", cel.TimestampType, false, "install date; 0001-01-01 when unknown"},
	fPurchaseDate:      {"purchase_date", cel.TimestampType, false, "purchase date; 0001-01-01 when unknown"},
	fTrafficShare:      {"traffic_share", cel.DoubleType, false, "share of the operator's traffic, 0..1"},
	fPremisesServed:    {"premises_served", cel.IntType, false, "premises served"},
	fManagedBy:         {"managed_by", cel.StringType, true, "managed-service provider"},
	fSupportLocation:   {"support_location", cel.StringType, true, "ISO 3166 alpha-2 country of remote support"},
	fSanctionsAffected: {"sanctions_affected", cel.BoolType, true, "equipment affected by sanctions"},
	fTags:              {"tags", cel.ListType(cel.StringType), true, "operator tags"},
	fEvidence:          {"evidence", cel.ListType(cel.MapType(cel.StringType, cel.DynType)), false, "evaluations: maps with scheme, report_id, evaluated_versions"},
}

var fieldByName = func() map[string]fieldID {
	m := make(map[string]fieldID, nFields)
	for i, f := range fields {
		m[f.name] = fieldID(i)
	}
	return m
}()

// FieldNames returns the names of the variables a scope or
// vendor_criteria expression may use, sorted.
func FieldNames() []string {
	out := make([]string, 0, nFields)
	for _, f := range fields {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

var (
	envOnce sync.Once
	envVal  *cel.Env
	envErr  error
)

// celEnv is the declared environment shared by every pack.
func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		opts := []cel.EnvOption{
			ext.Strings(),
			cel.EnableMacroCallTracking(), // lets a conjunct be printed back for compileSplit
			cel.CrossTypeNumericComparisons(true),
			cel.ParserRecursionLimit(maxExprRecursion),
			cel.ParserExpressionSizeLimit(MaxExprLen),
			cel.ExpressionNodeLimit(maxExprNodes),
		}
		for _, f := range fields {
			opts = append(opts, cel.Variable(f.name, f.typ))
		}
		envVal, envErr = cel.NewEnv(opts...)
	})
	return envVal, envErr
}

// exprIssue is one CEL compile error, positioned inside the expression
// (line 1-based, column 0-based; 0/-1 when unknown).
type exprIssue struct {
	line, col int
	msg       string
}

// compiled is one checked, planned CEL expression.
type compiled struct {
	src    string
	prog   cel.Program
	fields []fieldID // element variables it reads, ascending
	few    bool      // every variable it reads has few distinct values
	ast    *cel.Ast
}

// compileSplit compiles src and splits it, when it is a conjunction, into
// a part that reads only few-valued fields (evaluated once per class of
// elements) and a part that reads many-valued ones such as install_date
// (evaluated, memoised by its own fields, only for elements that pass the
// first part). Either part may be nil: a nil part is true.
func compileSplit(src string) (few, many *compiled, issues []exprIssue) {
	c, issues := compileExpr(src)
	if len(issues) > 0 {
		return nil, nil, issues
	}
	if c.few {
		return c, nil, nil
	}
	conj := conjuncts(c.ast.NativeRep().Expr(), nil)
	if len(conj) < 2 {
		return nil, c, nil
	}
	info := c.ast.NativeRep().SourceInfo()
	var fewSrc, manySrc []string
	for _, e := range conj {
		s, err := celparser.Unparse(e, info)
		if err != nil {
			return nil, c, nil
		}
		part, iss := compileExpr(s)
		if len(iss) > 0 {
			return nil, c, nil
		}
		if part.few {
			fewSrc = append(fewSrc, "("+s+")")
		} else {
			manySrc = append(manySrc, "("+s+")")
		}
	}
	if len(fewSrc) > 0 {
		if few, issues = compileExpr(strings.Join(fewSrc, " && ")); len(issues) > 0 {
			return nil, c, nil
		}
	}
	if many, issues = compileExpr(strings.Join(manySrc, " && ")); len(issues) > 0 {
		return nil, c, nil
	}
	return few, many, nil
}

// conjuncts flattens a tree of && into its operands.
func conjuncts(e celast.Expr, out []celast.Expr) []celast.Expr {
	if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd && len(e.AsCall().Args()) == 2 {
		out = conjuncts(e.AsCall().Args()[0], out)
		return conjuncts(e.AsCall().Args()[1], out)
	}
	return append(out, e)
}

// compileExpr checks src as a boolean expression over the element
// variables and plans it with a cost limit.
func compileExpr(src string) (*compiled, []exprIssue) {
	env, err := celEnv()
	if err != nil {
		return nil, []exprIssue{{msg: "CEL environment: " + err.Error()}}
	}
	if n := len([]rune(src)); n > MaxExprLen {
		return nil, []exprIssue{{msg: fmt.Sprintf("expression is %d characters long; the limit is %d", n, MaxExprLen)}}
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var out []exprIssue
		for _, e := range iss.Errors() {
			msg := e.Message
			if strings.Contains(msg, "reserved identifier: function") {
				msg += ` (the element's function is "network_function")`
			}
			out = append(out, exprIssue{line: e.Location.Line(), col: e.Location.Column(), msg: msg})
		}
		if len(out) == 0 {
			out = append(out, exprIssue{msg: iss.Err().Error()})
		}
		return nil, out
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, []exprIssue{{msg: fmt.Sprintf("expression is of type %s; want bool", ast.OutputType())}}
	}
	prog, err := env.Program(ast,
		cel.CostLimit(MaxEvalCost),
		cel.InterruptCheckFrequency(celInterruptEvery),
		cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, []exprIssue{{msg: err.Error()}}
	}
	c := &compiled{src: src, prog: prog, few: true, ast: ast}
	seen := map[fieldID]bool{}
	for _, r := range ast.NativeRep().ReferenceMap() {
		if r == nil || len(r.OverloadIDs) > 0 {
			continue
		}
		if id, ok := fieldByName[r.Name]; ok && !seen[id] {
			seen[id] = true
			c.fields = append(c.fields, id)
			if !fields[id].few {
				c.few = false
			}
		}
	}
	sort.Slice(c.fields, func(i, j int) bool { return c.fields[i] < c.fields[j] })
	return c, nil
}

// eval runs the expression for one element. An evaluation error (cost
// limit, a runtime type error) is returned to the caller, which counts
// the element as not matching and records a warning.
func (c *compiled) eval(el *inventory.Element) (bool, error) {
	v, _, err := c.prog.Eval(&activation{el: el})
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expression gave %s, not a bool", v.Type())
	}
	return bool(b), nil
}

// activation resolves the element variables lazily.
type activation struct{ el *inventory.Element }

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	id, ok := fieldByName[name]
	if !ok {
		return nil, false
	}
	return fieldValue(a.el, id), true
}

func fieldValue(el *inventory.Element, id fieldID) ref.Val {
	switch id {
	case fID:
		return types.String(el.ID)
	case fName:
		return types.String(el.Name)
	case fVendor:
		return types.String(el.Vendor)
	case fVendorRaw:
		return types.String(el.VendorRaw)
	case fModel:
		return types.String(el.Model)
	case fSoftwareVersion:
		return types.String(el.SoftwareVersion)
	case fDomain:
		return types.String(el.Domain)
	case fFunction:
		return types.String(el.Function)
	case fGeneration:
		return types.String(el.Generation)
	case fPlane:
		return types.String(el.Plane)
	case fSite:
		return types.String(el.Site)
	case fSiteSensitivity:
		return types.String(el.SiteSensitivity)
	case fInstallDate:
		return types.Timestamp{Time: dateTime(el.InstallDate)}
	case fPurchaseDate:
		return types.Timestamp{Time: dateTime(el.PurchaseDate)}
	case fTrafficShare:
		return types.Double(el.TrafficShare)
	case fPremisesServed:
		return types.Int(el.PremisesServed)
	case fManagedBy:
		return types.String(el.ManagedBy)
	case fSupportLocation:
		return types.String(el.SupportLocation)
	case fSanctionsAffected:
		return types.Bool(el.SanctionsAffected)
	case fTags:
		return types.NewStringList(types.DefaultTypeAdapter, el.Tags)
	case fEvidence:
		ev := make([]any, len(el.Evidence))
		for i, e := range el.Evidence {
			vs := e.EvaluatedVersions
			if vs == nil {
				vs = []string{}
			}
			ev[i] = map[string]any{"scheme": e.Scheme, "report_id": e.ReportID, "evaluated_versions": vs}
		}
		return types.DefaultTypeAdapter.NativeToValue(ev)
	}
	return types.NullValue
}

// dateTime maps an unknown date to 0001-01-01, the smallest CEL timestamp.
func dateTime(d inventory.Date) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	return d.Time
}

// appendKey appends a compact, unambiguous encoding of field id of el:
// the memo key of an expression is the encoding of the fields it reads.
func appendKey(b []byte, el *inventory.Element, id fieldID) []byte {
	str := func(s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	switch id {
	case fID:
		return str(el.ID)
	case fName:
		return str(el.Name)
	case fVendor:
		return str(el.Vendor)
	case fVendorRaw:
		return str(el.VendorRaw)
	case fModel:
		return str(el.Model)
	case fSoftwareVersion:
		return str(el.SoftwareVersion)
	case fDomain:
		return str(el.Domain)
	case fFunction:
		return str(el.Function)
	case fGeneration:
		return str(el.Generation)
	case fPlane:
		return str(el.Plane)
	case fSite:
		return str(el.Site)
	case fSiteSensitivity:
		return str(el.SiteSensitivity)
	case fInstallDate:
		return binary.AppendVarint(b, dateTime(el.InstallDate).Unix())
	case fPurchaseDate:
		return binary.AppendVarint(b, dateTime(el.PurchaseDate).Unix())
	case fTrafficShare:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(el.TrafficShare))
	case fPremisesServed:
		return binary.AppendVarint(b, el.PremisesServed)
	case fManagedBy:
		return str(el.ManagedBy)
	case fSupportLocation:
		return str(el.SupportLocation)
	case fSanctionsAffected:
		if el.SanctionsAffected {
			return append(b, 1)
		}
		return append(b, 0)
	case fTags:
		b = binary.AppendUvarint(b, uint64(len(el.Tags)))
		for _, t := range el.Tags {
			b = str(t)
		}
		return b
	case fEvidence:
		b = binary.AppendUvarint(b, uint64(len(el.Evidence)))
		for _, e := range el.Evidence {
			b = str(e.Scheme)
			b = str(e.ReportID)
			b = binary.AppendUvarint(b, uint64(len(e.EvaluatedVersions)))
			for _, v := range e.EvaluatedVersions {
				b = str(v)
			}
		}
		return b
	}
	return b
}

// normScheme folds an evidence scheme name for comparison: "NESAS CCS-GI",
// "nesas_ccs_gi" and "NESAS-CCS-GI" are the same scheme.
func normScheme(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r > 127 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
