package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// netboxServer serves NetBox-shaped device and module lists: nDevices
// devices (every third one a Huawei gNB with a custom field domain, the
// others Ericsson with a role or a tag giving the domain) and one radio
// module in each of the first ten devices.
func netboxServer(t *testing.T, nDevices int, token string) (*httptest.Server, *int) {
	t.Helper()
	requests := 0
	mux := http.NewServeMux()
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		requests++
		want := "Token " + token
		if strings.HasPrefix(token, "nbt_") {
			want = "Bearer " + token
		}
		if r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"detail":"Invalid token"}`)
			return false
		}
		return true
	}
	page := func(r *http.Request, total int, item func(i int) map[string]any) map[string]any {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 || limit > 1000 {
			limit = 1000
		}
		var res []map[string]any
		for i := offset; i < min(offset+limit, total); i++ {
			res = append(res, item(i+1))
		}
		var next any
		if offset+limit < total {
			// A wrong host, as behind a misconfigured proxy: only the query is used.
			next = fmt.Sprintf("http://netbox.internal:8000%s?limit=%d&offset=%d", r.URL.Path, limit, offset+limit)
		}
		return map[string]any{"count": total, "next": next, "previous": nil, "results": res}
	}
	mux.HandleFunc("/api/dcim/devices/", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		json.NewEncoder(w).Encode(page(r, nDevices, func(i int) map[string]any {
			d := map[string]any{"id": i, "name": fmt.Sprintf("dev-%d", i), "site": map[string]any{"id": 1, "name": "SITE-" + strconv.Itoa(i%50)},
				"status": map[string]any{"value": "active", "label": "Active"}}
			switch i % 3 {
			case 0:
				d["device_type"] = map[string]any{"model": "BBU5900", "manufacturer": map[string]any{"name": "Huawei Technologies Co., Ltd.", "slug": "huawei"}}
				d["primary_ip4"] = map[string]any{"id": 9, "address": "10.0.3.1/24"}
				d["oob_ip"] = map[string]any{"id": 10, "address": "2001:db8::3/64"}
				d["role"] = map[string]any{"slug": "baseband"}
				d["custom_fields"] = map[string]any{"network_domain": "ran", "function": "gnb", "sw_version": "V100R019", "generation": "5G-NSA",
					"install_date": "2020-01-02", "site_sensitivity": nil, "traffic_share": 0.0001}
			case 1:
				d["device_type"] = map[string]any{"model": "MX960", "manufacturer": map[string]any{"name": "Juniper Networks"}}
				d["role"] = map[string]any{"slug": "transport-agg-router"}
				d["tags"] = []map[string]any{{"name": "core", "slug": "core"}}
			default:
				d["device_type"] = map[string]any{"model": "vEPG", "manufacturer": map[string]any{"name": "Ericsson"}}
				d["role"] = map[string]any{"slug": "server"}
				d["tags"] = []map[string]any{{"name": "domain:core-5g", "slug": "domain-core-5g"}, {"name": "function:upf", "slug": "function-upf"}}
				d["custom_fields"] = map[string]any{"software_version": "1.14", "evaluated_versions": []string{"1.14"}, "nesas_report_id": "NESAS-1"}
			}
			return d
		}))
	})
	mux.HandleFunc("/api/dcim/modules/", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		json.NewEncoder(w).Encode(page(r, 11, func(i int) map[string]any {
			dev := 3 * i // the Huawei RAN devices
			if i == 11 {
				dev = nDevices + 100 // a module of a device that does not exist
			}
			return map[string]any{"id": 500 + i, "device": map[string]any{"id": dev, "name": fmt.Sprintf("dev-%d", dev)},
				"module_bay":    map[string]any{"id": 1, "name": "Radio 1"},
				"module_type":   map[string]any{"model": "AAU5613", "manufacturer": map[string]any{"name": "ZTE"}},
				"custom_fields": map[string]any{"function": "ru"}}
		}))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestLoadNetBoxPaging(t *testing.T) {
	for _, token := range []string{strings.Repeat("a1", 20), "nbt_abcdefghijkl." + strings.Repeat("x", 40)} {
		srv, requests := netboxServer(t, 2500, token)
		inv, err := LoadNetBox(context.Background(), NetBoxConfig{URL: srv.URL + "/", Token: token}, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// 3 device pages + 1 module page.
		if *requests != 4 {
			t.Errorf("%d requests, want 4", *requests)
		}
		// 2500 devices + 10 modules; the module of a missing device is skipped.
		if len(inv.Elements) != 2510 || inv.Skipped != 1 {
			t.Fatalf("elements %d skipped %d; problems %v", len(inv.Elements), inv.Skipped, inv.Problems)
		}
		byID := map[string]Element{}
		for _, e := range inv.Elements {
			byID[e.ID] = e
		}
		hw := byID["device-3"]
		if hw.Vendor != "huawei" || hw.Domain != "ran" || hw.Function != "gnb" || hw.SoftwareVersion != "V100R019" ||
			hw.Generation != "5G-NSA" || hw.InstallDate.String() != "2020-01-02" || hw.Site != "SITE-3" || hw.Model != "BBU5900" {
			t.Errorf("device-3: %+v", hw)
		}
		if !slices.Equal(hw.ManagementAddresses, []string{"10.0.3.1", "2001:db8::3"}) {
			t.Errorf("device-3 management addresses %q, want primary_ip4 and oob_ip hosts", hw.ManagementAddresses)
		}
		if j := byID["device-1"]; j.Vendor != "juniper" || j.Domain != "transport" || j.Function != "agg-router" || len(j.Tags) != 1 {
			t.Errorf("device-1 (domain from role): %+v", j)
		}
		if e := byID["device-2"]; e.Vendor != "ericsson" || e.Domain != "core-5g" || e.Function != "upf" || e.SoftwareVersion != "1.14" || len(e.Evidence) != 1 {
			t.Errorf("device-2 (domain from tags): %+v", e)
		}
		m := byID["device-3/module-501"]
		if m.Vendor != "zte" || m.Domain != "ran" || m.Site != "SITE-3" || m.Function != "ru" || m.Generation != "5G-NSA" || m.Model != "AAU5613" {
			t.Errorf("module: %+v", m)
		}
		if len(inv.Problems) != 1 || !strings.Contains(inv.Problems[0].Reason, "was not loaded") {
			t.Errorf("%d problems: %.500v", len(inv.Problems), inv.Problems)
		}
	}
}

func TestLoadNetBoxErrors(t *testing.T) {
	srv, _ := netboxServer(t, 10, "right")
	_, err := LoadNetBox(context.Background(), NetBoxConfig{URL: srv.URL, Token: "wrong"}, LoadOptions{})
	var ne *NetBoxError
	if !errors.As(err, &ne) || ne.Status != 403 || !strings.Contains(err.Error(), srv.URL+"/api/dcim/devices/?limit=1000&offset=0") ||
		!strings.Contains(err.Error(), "403 Forbidden") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("403: %v", err)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	start := time.Now()
	_, err = LoadNetBox(context.Background(), NetBoxConfig{URL: slow.URL, Token: "t", Timeout: 100 * time.Millisecond}, LoadOptions{})
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "no answer within 100ms") || time.Since(start) > time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}

	bodies := []struct{ name, body, want string }{
		{"malformed", `{"count": 1, "results": [{"id": 1,`, "not a NetBox list response"},
		{"wrong shape", `{"count": 1, "results": {"id": 1}}`, "results: want an array"},
		{"html", `<html>login</html>`, "not a NetBox list response"},
		{"too big", `{"count": 1, "results": [` + strings.Repeat(`{"id": 1},`, 20000) + `{"id":2}]}`, "page larger than"},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, b.body) }))
			defer s.Close()
			_, err := LoadNetBox(context.Background(), NetBoxConfig{URL: s.URL, MaxPageBytes: 64 << 10}, LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("err %v, want %q", err, b.want)
			}
		})
	}

	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"count": 1, "next": "/api/dcim/devices/?limit=1000&offset=0", "results": []}`)
	}))
	defer loop.Close()
	if _, err := LoadNetBox(context.Background(), NetBoxConfig{URL: loop.URL}, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "repeats a page") {
		t.Errorf("loop: %v", err)
	}
	if _, err := LoadNetBox(context.Background(), NetBoxConfig{URL: "ftp://x"}, LoadOptions{}); err == nil {
		t.Error("ftp URL accepted")
	}
}
