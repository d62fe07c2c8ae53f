package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// NetBoxConfig says where and how to read a NetBox inventory.
type NetBoxConfig struct {
	URL        string        // NetBox base URL, e.g. https://netbox.example.net
	Token      string        // API token: v1 (40 hex, sent as "Token …") or v2 ("nbt_…", sent as "Bearer …")
	HTTPClient *http.Client  // nil: a new client
	PageSize   int           // devices per page; 0: 1000 (NetBox's MAX_PAGE_SIZE default)
	Timeout    time.Duration // per request; 0: 60 s

	MaxPages     int   // pages per endpoint; 0: 10000
	MaxPageBytes int64 // bytes per page; 0: 256 MiB
	NoModules    bool  // do not read /api/dcim/modules/
}

func (c *NetBoxConfig) defaults() {
	if c.PageSize <= 0 {
		c.PageSize = 1000
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.MaxPages <= 0 {
		c.MaxPages = 10000
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = 256 << 20
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
}

// NetBox objects, the members the loader reads.
type nbRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type nbTag struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type nbDevice struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	DeviceType *struct {
		Manufacturer *nbRef `json:"manufacturer"`
		Model        string `json:"model"`
	} `json:"device_type"`
	Role         *nbRef                     `json:"role"`
	DeviceRole   *nbRef                     `json:"device_role"` // before NetBox 4.0
	Site         *nbRef                     `json:"site"`
	Platform     *nbRef                     `json:"platform"`
	Status       *struct{ Value string }    `json:"status"`
	Tags         []nbTag                    `json:"tags"`
	CustomFields map[string]json.RawMessage `json:"custom_fields"`
	PrimaryIP4   *nbIP                      `json:"primary_ip4"`
	PrimaryIP6   *nbIP                      `json:"primary_ip6"`
	OOBIP        *nbIP                      `json:"oob_ip"`
}

// nbIP is a nested IP address object; Address is an interface address
// in CIDR form ("10.0.0.1/24").
type nbIP struct {
	Address string `json:"address"`
}

type nbModule struct {
	ID         int64  `json:"id"`
	Device     *nbRef `json:"device"`
	ModuleBay  *nbRef `json:"module_bay"`
	ModuleType *struct {
		Manufacturer *nbRef `json:"manufacturer"`
		Model        string `json:"model"`
	} `json:"module_type"`
	Status       *struct{ Value string }    `json:"status"`
	Tags         []nbTag                    `json:"tags"`
	CustomFields map[string]json.RawMessage `json:"custom_fields"`
}

type nbPage[T any] struct {
	Count   int     `json:"count"`
	Next    *string `json:"next"`
	Results []T     `json:"results"`
}

// NetBoxError is an HTTP failure talking to NetBox.
type NetBoxError struct {
	URL    string // the request URL (no token)
	Status int    // HTTP status; 0 for a transport error
	Msg    string
	Err    error
}

func (e *NetBoxError) Error() string {
	s := "netbox: GET " + e.URL + ": "
	if e.Status != 0 {
		s += strconv.Itoa(e.Status) + " " + http.StatusText(e.Status) + ": "
	}
	if e.Msg != "" {
		s += e.Msg
	} else if e.Err != nil {
		s += e.Err.Error()
	}
	return s
}

func (e *NetBoxError) Unwrap() error { return e.Err }

// LoadNetBox reads devices, and the modules in them (radio units, line
// cards with their own manufacturer), from NetBox's REST API. Mapping:
//
//   - id: "device-<id>"; a module: "device-<id>/module-<id>"
//   - vendor: device_type.manufacturer.name (a module: module_type's)
//   - model: device_type.model; site: site.name
//   - every other Element field: a custom field of that name in any
//     spelling the CSV header accepts (sw_version, network_domain, ...),
//     or a tag "field:value" ("domain:core-5g"; "domain-core-5g" as a slug)
//   - domain and function, when no custom field or tag gives them: the
//     role's slug when it is a domain ("core-5g"), a function ("gnb") or
//     "<domain>-<function>" ("ran-gnb")
//   - a module inherits its device's site, domain, generation, plane,
//     site sensitivity, install date and support location unless it has
//     its own custom fields; a module whose device was not read is skipped
//   - other tags are kept (slug); a status other than active is kept as a
//     tag "status:<value>"
func LoadNetBox(ctx context.Context, c NetBoxConfig, opts LoadOptions) (*Inventory, error) {
	c.defaults()
	base, err := url.Parse(strings.TrimRight(c.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("netbox: %q is not an http(s) URL", c.URL)
	}
	base.RawQuery, base.Fragment = "", ""
	src := base.String()
	col := newCollector(src, opts)
	b := newBuilder(src, opts.Aliases)
	devices := map[int64]*Element{}
	devIndex := map[int64]int{} // device id -> index in col.inv.Elements

	devURL := src + "/api/dcim/devices/"
	err = nbPages(ctx, &c, base, "/api/dcim/devices/", func(page []nbDevice) error {
		for i := range page {
			d := &page[i]
			e, keep := nbDeviceElement(b, devURL, d)
			if err := col.record(b, &e, keep, value{label: "id"}); err != nil {
				return err
			}
			if keep && len(col.inv.Elements) > 0 && col.inv.Elements[len(col.inv.Elements)-1].ID == e.ID {
				devIndex[d.ID] = len(col.inv.Elements) - 1
			}
		}
		return nil
	})
	if err != nil {
		return col.inv, err
	}
	for id, i := range devIndex {
		devices[id] = &col.inv.Elements[i]
	}
	if c.NoModules {
		return col.inv, nil
	}
	modURL := src + "/api/dcim/modules/"
	var mods []Element
	err = nbPages(ctx, &c, base, "/api/dcim/modules/", func(page []nbModule) error {
		for i := range page {
			m := &page[i]
			var parent *Element
			if m.Device != nil {
				parent = devices[m.Device.ID]
			}
			b.reset()
			if parent == nil {
				did := int64(0)
				if m.Device != nil {
					did = m.Device.ID
				}
				b.errorf(&value{label: "device"}, "module %d: its device %d was not loaded", m.ID, did)
				var e Element
				if err := col.record(b, &e, false, value{}); err != nil {
					return err
				}
				continue
			}
			e, keep := nbModuleElement(b, modURL, m, parent)
			if !keep {
				if err := col.record(b, &e, false, value{}); err != nil {
					return err
				}
				continue
			}
			mods = append(mods, e)
			for _, p := range b.probs {
				if err := col.problem(p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	// Append modules after the loop: appending while holding pointers to
	// device elements would move them.
	for i := range mods {
		b.reset()
		if err := col.record(b, &mods[i], true, value{label: "id"}); err != nil {
			return col.inv, err
		}
	}
	if err != nil {
		return col.inv, err
	}
	return col.inv, nil
}

func nbDeviceElement(b *builder, input string, d *nbDevice) (Element, bool) {
	b.reset()
	b.input = input
	var e Element
	e.ID = "device-" + strconv.FormatInt(d.ID, 10)
	e.Origin = input + strconv.FormatInt(d.ID, 10) + "/"
	vals := []value{{field: fID, label: "id", text: e.ID}}
	if d.Name != "" {
		vals = append(vals, value{field: fName, label: "name", text: d.Name})
	}
	if d.DeviceType != nil {
		if m := d.DeviceType.Manufacturer; m != nil {
			vals = append(vals, value{field: fVendor, label: "device_type.manufacturer", text: firstNonEmpty(m.Name, m.Slug)})
		}
		if d.DeviceType.Model != "" {
			vals = append(vals, value{field: fModel, label: "device_type.model", text: d.DeviceType.Model})
		}
	}
	if d.Site != nil {
		vals = append(vals, value{field: fSite, label: "site", text: firstNonEmpty(d.Site.Name, d.Site.Slug)})
	}
	role := d.Role
	if role == nil {
		role = d.DeviceRole
	}
	vals = append(vals, nbRoleValues(role)...)
	vals = append(vals, nbTagValues(b, d.Tags)...)
	if d.Status != nil && d.Status.Value != "" && d.Status.Value != "active" {
		vals = append(vals, value{field: fTags, label: "status", list: []string{"status:" + truncate(d.Status.Value, 32)}, isList: true})
	}
	for _, ip := range []struct {
		label string
		v     *nbIP
	}{{"primary_ip4", d.PrimaryIP4}, {"primary_ip6", d.PrimaryIP6}, {"oob_ip", d.OOBIP}} {
		if ip.v != nil && ip.v.Address != "" {
			vals = append(vals, value{field: fMgmtAddresses, label: ip.label, list: []string{nbHost(ip.v.Address)}, isList: true})
		}
	}
	vals = append(vals, nbCustomValues(b, d.CustomFields)...)
	keep := b.build(&e, vals, value{label: "device " + strconv.FormatInt(d.ID, 10)})
	prefixFields(b, d.ID, "device")
	return e, keep
}

func nbModuleElement(b *builder, input string, m *nbModule, parent *Element) (Element, bool) {
	b.input = input
	var e Element
	e.ID = parent.ID + "/module-" + strconv.FormatInt(m.ID, 10)
	e.Origin = input + strconv.FormatInt(m.ID, 10) + "/"
	name := parent.Name
	if m.ModuleBay != nil && m.ModuleBay.Name != "" {
		name = strings.TrimSpace(name + " " + m.ModuleBay.Name)
	}
	vals := []value{{field: fID, label: "id", text: e.ID}, {field: fName, label: "module_bay", text: name}}
	if m.ModuleType != nil {
		if mf := m.ModuleType.Manufacturer; mf != nil {
			vals = append(vals, value{field: fVendor, label: "module_type.manufacturer", text: firstNonEmpty(mf.Name, mf.Slug)})
		}
		if m.ModuleType.Model != "" {
			vals = append(vals, value{field: fModel, label: "module_type.model", text: m.ModuleType.Model})
		}
	}
	// Inherited from the device; the module's own fields come later and win.
	inh := func(f, v string) {
		if v != "" {
			vals = append(vals, value{field: f, label: "device." + f, text: v})
		}
	}
	inh(fSite, parent.Site)
	inh(fDomain, parent.Domain)
	inh(fGeneration, parent.Generation)
	inh(fPlane, parent.Plane)
	inh(fSiteSensitivity, parent.SiteSensitivity)
	inh(fInstallDate, parent.InstallDate.String())
	inh(fSupportLocation, parent.SupportLocation)
	inh(fManagedBy, parent.ManagedBy)
	if parent.SanctionsAffected {
		inh(fSanctionsAffected, "true")
	}
	vals = append(vals, nbTagValues(b, m.Tags)...)
	if m.Status != nil && m.Status.Value != "" && m.Status.Value != "active" {
		vals = append(vals, value{field: fTags, label: "status", list: []string{"status:" + truncate(m.Status.Value, 32)}, isList: true})
	}
	vals = append(vals, nbCustomValues(b, m.CustomFields)...)
	keep := b.build(&e, vals, value{label: "module " + strconv.FormatInt(m.ID, 10)})
	prefixFields(b, m.ID, "module")
	return e, keep
}

// prefixFields names the object in each problem's field ("device 12: custom_fields.install_date").
func prefixFields(b *builder, id int64, kind string) {
	for i := range b.probs {
		p := &b.probs[i]
		pre := kind + " " + strconv.FormatInt(id, 10)
		if p.Field == "" || strings.HasPrefix(p.Field, pre) {
			p.Field = pre
		} else {
			p.Field = pre + " " + p.Field
		}
	}
}

func nbRoleValues(role *nbRef) []value {
	if role == nil {
		return nil
	}
	s := strings.ToLower(firstNonEmpty(role.Slug, slug(role.Name)))
	if KnownDomain(s) {
		return []value{{field: fDomain, label: "role", text: s}}
	}
	if ds := FunctionDomains(s); len(ds) == 1 {
		return []value{{field: fDomain, label: "role", text: ds[0]}, {field: fFunction, label: "role", text: s}}
	}
	for _, d := range DomainNames() {
		if f, ok := strings.CutPrefix(s, d+"-"); ok && KnownFunction(d, f) {
			return []value{{field: fDomain, label: "role", text: d}, {field: fFunction, label: "role", text: f}}
		}
	}
	return nil
}

// nbTagValues reads "field:value" tags (or "field=value"; or a slug
// "<field>-<value>" for domain, function and generation) and keeps the
// others as plain tags.
func nbTagValues(b *builder, tags []nbTag) []value {
	var out []value
	var plain []string
	for _, t := range tags {
		name := firstNonEmpty(t.Name, t.Slug)
		if k, v, ok := strings.Cut(name, ":"); ok || strings.Contains(name, "=") {
			if !ok {
				k, v, _ = strings.Cut(name, "=")
			}
			if f := canonicalField(k); f != "" && f != fID && f != fEvidence && f != fOrigin && f != fVendorRaw {
				out = append(out, value{field: f, label: "tag " + truncate(name, 64), text: strings.TrimSpace(v)})
				continue
			}
		}
		if v, ok := tagSlugField(t.Slug); ok {
			out = append(out, v)
			continue
		}
		plain = append(plain, firstNonEmpty(t.Slug, name))
	}
	if len(plain) > 0 {
		out = append(out, value{field: fTags, label: "tags", list: plain, isList: true})
	}
	return out
}

func tagSlugField(s string) (value, bool) {
	if d, ok := strings.CutPrefix(s, "domain-"); ok && KnownDomain(d) {
		return value{field: fDomain, label: "tag " + s, text: d}, true
	}
	if f, ok := strings.CutPrefix(s, "function-"); ok && len(FunctionDomains(f)) > 0 {
		return value{field: fFunction, label: "tag " + s, text: f}, true
	}
	if g, ok := strings.CutPrefix(s, "generation-"); ok {
		if cg, ok := CanonicalGeneration(g); ok {
			return value{field: fGeneration, label: "tag " + s, text: cg}, true
		}
	}
	return value{}, false
}

// nbCustomValues maps custom fields to Element fields, in a stable order.
func nbCustomValues(b *builder, cf map[string]json.RawMessage) []value {
	keys := make([]string, 0, len(cf))
	for k := range cf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []value
	for _, k := range keys {
		f := canonicalField(k)
		if f == "" || f == fID || f == fEvidence || f == fOrigin || f == fVendorRaw {
			continue
		}
		raw := cf[k]
		v := value{field: f, label: "custom_fields." + truncate(k, 64)}
		if len(raw) > 0 && raw[0] == '[' {
			list, err := listText(raw)
			if err != nil {
				b.warnf(&v, "want a list of strings; ignored")
				continue
			}
			v.list, v.isList, v.text = list, true, strings.Join(list, ";")
		} else if len(raw) > 0 && raw[0] == '{' {
			// An object custom field (a related object): use its name.
			var ref struct{ Name, Display, Slug string }
			if err := json.Unmarshal(raw, &ref); err != nil {
				b.warnf(&v, "want a string; ignored")
				continue
			}
			v.text = firstNonEmpty(ref.Name, ref.Display, ref.Slug)
		} else {
			s, _, err := scalarText(raw)
			if err != nil {
				b.warnf(&v, "want a string; ignored")
				continue
			}
			v.text = s
		}
		if v.text == "" && !v.isList {
			continue // an unset custom field must not clear a value from tags or role
		}
		out = append(out, v)
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// nbPages GETs path?limit=&offset= page by page, following "next" (its
// query only: the host and path stay those of the configured URL, so a
// misconfigured or hostile server cannot send the token elsewhere).
func nbPages[T any](ctx context.Context, c *NetBoxConfig, base *url.URL, path string, fn func([]T) error) error {
	u := *base
	u.Path = strings.TrimRight(base.Path, "/") + path
	q := url.Values{}
	q.Set("limit", strconv.Itoa(c.PageSize))
	q.Set("offset", "0")
	u.RawQuery = q.Encode()
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page >= c.MaxPages {
			return &NetBoxError{URL: u.String(), Msg: fmt.Sprintf("more than %d pages; raise the page limit", c.MaxPages), Err: ErrTooLarge}
		}
		if seen[u.RawQuery] {
			return &NetBoxError{URL: u.String(), Msg: "the server's next link repeats a page"}
		}
		seen[u.RawQuery] = true
		var p nbPage[T]
		if err := nbGet(ctx, c, u.String(), &p); err != nil {
			return err
		}
		if err := fn(p.Results); err != nil {
			return err
		}
		if p.Next == nil || *p.Next == "" {
			return nil
		}
		next, err := url.Parse(*p.Next)
		if err != nil {
			return &NetBoxError{URL: u.String(), Msg: fmt.Sprintf("bad next link %q", truncate(*p.Next, 200))}
		}
		u.RawQuery = next.RawQuery
	}
}

func nbGet(ctx context.Context, c *NetBoxConfig, u string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &NetBoxError{URL: u, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		if strings.HasPrefix(c.Token, "nbt_") {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		} else {
			req.Header.Set("Authorization", "Token "+c.Token)
		}
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return &NetBoxError{URL: u, Msg: fmt.Sprintf("no answer within %s", c.Timeout), Err: err}
		}
		return &NetBoxError{URL: u, Err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &NetBoxError{URL: u, Status: resp.StatusCode,
			Msg: "the API token was refused: check that it is set, valid, and may read dcim devices and modules" + bodyHint(resp.Body)}
	case resp.StatusCode != http.StatusOK:
		return &NetBoxError{URL: u, Status: resp.StatusCode, Msg: "unexpected status" + bodyHint(resp.Body)}
	}
	lr := &io.LimitedReader{R: resp.Body, N: c.MaxPageBytes + 1}
	dec := json.NewDecoder(lr)
	if err := dec.Decode(into); err != nil {
		if lr.N <= 0 {
			return &NetBoxError{URL: u, Msg: fmt.Sprintf("page larger than %d bytes; lower the page size", c.MaxPageBytes), Err: ErrTooLarge}
		}
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return &NetBoxError{URL: u, Msg: fmt.Sprintf("no full answer within %s", c.Timeout), Err: err}
		}
		return &NetBoxError{URL: u, Msg: "not a NetBox list response: " + jsonReason(err), Err: err}
	}
	return nil
}

// bodyHint returns the start of an error body, printable characters only.
func bodyHint(r io.Reader) string {
	buf := make([]byte, 200)
	n, _ := io.ReadFull(r, buf)
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(buf[:n]))
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return " (server said: " + s + ")"
}

// nbHost drops the prefix length of a NetBox interface address: the
// device's address is the host, whatever the subnet.
func nbHost(a string) string {
	if i := strings.IndexByte(a, '/'); i >= 0 {
		return a[:i]
	}
	return a
}
