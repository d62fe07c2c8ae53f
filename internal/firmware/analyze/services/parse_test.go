package services

import (
	"reflect"
	"strings"
	"testing"
)

// flat lists the simple commands of a parse, with markers for structure.
func flat(nodes []*node) []string {
	var out []string
	var walk func(ns []*node, prefix string)
	walk = func(ns []*node, prefix string) {
		for _, n := range ns {
			switch n.kind {
			case nCmd:
				var ws []string
				for _, w := range n.words {
					ws = append(ws, w.lit)
				}
				s := prefix + strings.Join(ws, " ")
				if n.bg {
					s += " &"
				}
				out = append(out, s)
			case nList:
				p := prefix
				if n.cond {
					p += "?"
				}
				walk(n.body, p)
			case nPipe:
				walk(n.body, prefix+"|")
			case nFor:
				var items []string
				for _, w := range n.items {
					items = append(items, w.lit)
				}
				out = append(out, prefix+"for "+n.name+" in "+strings.Join(items, " "))
				walk(n.body, prefix+"  ")
			case nCase:
				out = append(out, prefix+"case "+n.subject.lit)
				for _, a := range n.arms {
					var ps []string
					for _, p := range a.patterns {
						ps = append(ps, p.lit)
					}
					out = append(out, prefix+" "+strings.Join(ps, "|")+")")
					walk(a.body, prefix+"  ")
				}
			case nFunc:
				out = append(out, prefix+"func "+n.name)
				walk(n.body, prefix+"  ")
			}
		}
	}
	walk(nodes, "")
	return out
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"simple and background", "a b c &\nd 'e f' \"g $h\"\n", []string{"a b c &", "d e f g $h"}},
		{"redirections dropped", "telnetd -l /bin/sh >/dev/null 2>&1 </dev/null\ncat <<EOF >/tmp/x\ntelnetd -l /bin/sh\nEOF\nnext\n", []string{"telnetd -l /bin/sh", "cat", "next"}},
		{"heredoc with dash", "cat <<-END\n\ttelnetd\n\tEND\nafter\n", []string{"cat", "after"}},
		{"and or", "[ -x /x ] && /x -d || echo no\n", []string{"[ -x /x ]", "?/x -d", "?echo no"}},
		{"pipeline", "nc -l -p 1 | /bin/sh | tee log\n", []string{"|nc -l -p 1", "|/bin/sh", "|tee log"}},
		{"if", "if [ -f x ]; then\n  a\nelif b; then c\nelse d; fi\ne\n", []string{"?[ -f x ]", "?a", "?b", "?c", "?d", "e"}},
		{"for", "for i in /etc/init.d/S??*; do $i start; done\n", []string{"for i in /etc/init.d/S??*", "  $i start"}},
		{"case", "case \"$1\" in\n  start|boot) go ;;\n  stop)\n    halt\n    ;;\n  *) usage ;;\nesac\n", []string{"case $1", " start|boot)", "  go", " stop)", "  halt", " *)", "  usage"}},
		{"functions", "start() {\n  a\n}\nfunction stop { b; }\nf () ( c )\n", []string{"func start", "  a", "func stop", "  b", "func f", "  c"}},
		{"line continuation", "telnetd \\\n  -l /bin/sh\n", []string{"telnetd -l /bin/sh"}},
		{"comments", "# telnetd\na # b\nc#d\n", []string{"a", "c#d"}},
		{"substitutions kept", "x=$(cat /f) y=`id`\ncmd ${A:-b} $((1+2))\n", []string{"x=$(cat /f) y=`id`", "cmd ${A:-b} $((1+2))"}},
		{"while", "while read l; do echo $l; done < /f\n", []string{"?read l", "?echo $l"}},
		{"stray closers", "fi\ndone\n}\n)\nesac\nok\n", []string{"ok"}},
		{"unterminated quote", "a 'b c\nd\n", []string{"a b c\nd\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := flat(parseScript(tc.src)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	src := "#!/bin/sh\n\nfoo bar\n  baz \\\n   qux\n"
	nodes := parseScript(src)
	if len(nodes) != 2 || nodes[0].line != 3 || nodes[0].off != 11 || nodes[1].line != 4 || nodes[1].off != 21 {
		t.Fatalf("got %+v %+v", nodes[0], nodes[1])
	}
}

func TestShellMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "/etc/init.d/S50x", true},
		{"*.sh", "/etc/init.d/S50x.sh", true},
		{"*.sh", "/etc/init.d/S50x", false},
		{"start", "start", true},
		{"st?rt", "start", true},
		{"[sS]tart", "Start", true},
		{"[!s]tart", "start", false},
		{"[a-c]x", "bx", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "", true},
		{"[", "[", true},
		{"\\*", "*", true},
		{"\\*", "x", false},
	} {
		if got := shellMatch(tc.pat, tc.s); got != tc.want {
			t.Errorf("shellMatch(%q, %q) = %v", tc.pat, tc.s, got)
		}
	}
}

func TestParseInittab(t *testing.T) {
	src := "# c\n::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\nid:3:initdefault:\nbad line\nl6:6:wait:/etc/init.d/rc 6\nT0:23:respawn:/sbin/getty -L ttyS0 115200 vt100 # x:y\n"
	es := parseInittab(src)
	if len(es) != 5 {
		t.Fatalf("got %d entries", len(es))
	}
	if es[1].id != "ttyS0" || es[1].action != "askfirst" || es[1].process != "-/bin/sh" || es[1].line.no != 3 || es[1].line.off != 30 {
		t.Fatalf("entry %+v", es[1])
	}
	if es[4].process != "/sbin/getty -L ttyS0 115200 vt100 # x:y" {
		t.Fatalf("process %q", es[4].process)
	}
	if runsAtBoot(es[3], "3") || !runsAtBoot(es[4], "3") || !runsAtBoot(es[0], "3") || runsAtBoot(es[2], "") {
		t.Fatal("runlevel filter")
	}
}

func TestParseUnit(t *testing.T) {
	src := "[Unit]\nDescription=x\n\n[Service]\nExecStart=/usr/sbin/sshd \\\n  -D -p 22\nType=simple\n; comment\n[Install]\nWantedBy=multi-user.target\n"
	keys := parseUnit(src)
	var got []string
	for _, k := range keys {
		got = append(got, k.section+"."+k.key+"="+k.value)
	}
	want := []string{"Unit.Description=x", "Service.ExecStart=/usr/sbin/sshd  -D -p 22", "Service.Type=simple", "Install.WantedBy=multi-user.target"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	if execCommand("-@/bin/x a") != "/bin/x a" {
		t.Fatal("exec prefixes")
	}
}

func TestParseInetdXinetdCron(t *testing.T) {
	in := parseInetd("#x\ntelnet stream tcp nowait root /usr/sbin/telnetd telnetd -i\nshort line\nftp stream tcp nowait root internal\n")
	if len(in) != 2 || in[0].server != "/usr/sbin/telnetd" || !reflect.DeepEqual(in[0].args, []string{"telnetd", "-i"}) || in[0].line.no != 2 {
		t.Fatalf("inetd %+v", in)
	}
	x := parseXinetd("defaults\n{\n}\nservice telnet\n{\n\tserver = /usr/sbin/in.telnetd\n\tserver_args += -h\n\tdisable = no\n}\n")
	if len(x) != 1 || x[0].name != "telnet" || x[0].attrs["server"] != "/usr/sbin/in.telnetd" || x[0].attrs["server_args"] != "-h" || x[0].lines["server"].no != 6 {
		t.Fatalf("xinetd %+v", x)
	}
	c := parseCrontab("MAILTO=x\n*/5 * * * * /bin/a -x % stdin\n@reboot\t/bin/b\n1 2 3\n", false)
	if len(c) != 2 || c[0].command != "/bin/a -x " || c[0].schedule != "*/5 * * * *" || c[1].schedule != "@reboot" || c[1].command != "/bin/b" {
		t.Fatalf("cron %+v", c)
	}
	s := parseCrontab("17 * * * * root cd / && run-parts --report /etc/cron.hourly\n", true)
	if len(s) != 1 || s[0].user != "root" || s[0].command != "cd / && run-parts --report /etc/cron.hourly" {
		t.Fatalf("system cron %+v", s)
	}
}

func TestUCIAndSSHD(t *testing.T) {
	u := uciSections("config dropbear\n\toption PasswordAuth 'off'\n\toption Port \"22\" # c\nconfig system\n\toption hostname x\nconfig dropbear 'lan'\n\tlist Interface lan\n", "dropbear")
	if len(u) != 2 || u[0].name != "@dropbear[0]" || u[0].opts["PasswordAuth"] != "off" || u[0].opts["Port"] != "22" || u[1].name != "lan" {
		t.Fatalf("uci %+v", u)
	}
	o := parseSSHDConfig("# x\nPermitRootLogin=yes\npermitrootlogin no\nPasswordAuthentication no\nMatch User x\nPermitEmptyPasswords yes\n")
	if o["permitrootlogin"].value != "yes" || o["permitrootlogin"].line.no != 2 || o["passwordauthentication"].value != "no" {
		t.Fatalf("sshd %+v", o)
	}
	if _, ok := o["permitemptypasswords"]; ok {
		t.Fatal("Match block read")
	}
}

func TestExpand(t *testing.T) {
	e := &env{vars: map[string]string{"A": "x", "B": "$A-y"}, args: []string{"start", "two words"}}
	for in, want := range map[string]string{
		"$A":           "x",
		"${A}z":        "xz",
		"$B":           "x-y",
		"$1 $2":        "start two words",
		"$3":           "$3",
		"${C:-def}":    "def",
		"${A:-def}":    "x",
		"$UNKNOWN":     "$UNKNOWN",
		"$#":           "2",
		"plain":        "plain",
		"${C-other}/x": "other/x",
	} {
		if got := e.expandString(in); got != want {
			t.Errorf("expand %q = %q, want %q", in, got, want)
		}
	}
	got := e.expandWords([]word{{lit: "$@"}, {lit: "$2", quoted: true}, {lit: "$B"}})
	if !reflect.DeepEqual(got, []string{"start", "two", "words", "two words", "x-y"}) {
		t.Errorf("words %q", got)
	}
}
