package accounts

// defaultPassword is one entry of the bundled list of well-known default
// passwords.
type defaultPassword struct {
	Password string
	// Source names where the password is published.
	Source string
}

// Sources of the bundled list. Every entry is public: it is printed in a
// vendor manual, a published advisory, or the credential table of an
// IoT botnet whose source code was released.
const (
	srcMirai    = "Mirai botnet credential table (source released 2016-09)"
	srcVariants = "credential tables of later Mirai-family botnets"
	srcManual   = "vendor documentation (factory default)"
	srcAdvisory = "published advisory"
	srcCommon   = "most common passwords in public breach lists"
)

// defaultPasswords is the list tested against every hash, most likely
// first, so that a hash whose budget runs out has had the likely ones.
// The account's own name is tested before the list.
var defaultPasswords = []defaultPassword{
	{"admin", srcMirai},
	{"root", srcMirai},
	{"password", srcMirai},
	{"1234", srcMirai},
	{"12345", srcMirai},
	{"123456", srcMirai},
	{"default", srcMirai},
	{"support", srcMirai},
	{"user", srcMirai},
	{"xc3511", srcMirai},
	{"vizxv", srcMirai},
	{"888888", srcMirai},
	{"xmhdipc", srcMirai},
	{"juantech", srcMirai},
	{"54321", srcMirai},
	{"pass", srcMirai},
	{"admin1234", srcMirai},
	{"1111", srcMirai},
	{"smcadmin", srcMirai},
	{"666666", srcMirai},
	{"klv123", srcMirai},
	{"klv1234", srcMirai},
	{"service", srcMirai},
	{"supervisor", srcMirai},
	{"guest", srcMirai},
	{"ubnt", srcMirai},
	{"Zte521", srcMirai},
	{"hi3518", srcMirai},
	{"jvbzd", srcMirai},
	{"anko", srcMirai},
	{"zlxx.", srcMirai},
	{"7ujMko0vizxv", srcMirai},
	{"7ujMko0admin", srcMirai},
	{"system", srcMirai},
	{"ikwb", srcMirai},
	{"dreambox", srcMirai},
	{"realtek", srcMirai},
	{"00000000", srcMirai},
	{"1111111", srcMirai},
	{"meinsm", srcMirai},
	{"tech", srcMirai},
	{"5up", srcVariants},
	{"admin123", srcVariants},
	{"12345678", srcVariants},
	{"123456789", srcVariants},
	{"1234567890", srcVariants},
	{"111111", srcVariants},
	{"000000", srcVariants},
	{"changeme", srcVariants},
	{"toor", srcVariants},
	{"telnet", srcVariants},
	{"oelinux123", srcVariants},
	{"zte9x15", srcVariants},
	{"zhongxing", srcVariants},
	{"Pon521", srcVariants},
	{"Zxic521", srcVariants},
	{"tsgoingon", srcVariants},
	{"hunt5759", srcVariants},
	{"vhd1206", srcVariants},
	{"cat1029", srcVariants},
	{"GM8182", srcVariants},
	{"hg2x0", srcVariants},
	{"1001chin", srcVariants},
	{"ipcam_rt5350", srcVariants},
	{"taZz@23495859", srcVariants},
	{"tl789", srcVariants},
	{"grouter", srcVariants},
	{"ttnet", srcVariants},
	{"admintelecom", srcManual},     // Huawei ONT telecomadmin account
	{"nE7jA%5m", srcManual},         // Huawei ONT operator account
	{"Admin@huawei", srcManual},     // Huawei enterprise devices
	{"admin@huawei", srcManual},     // Huawei devices
	{"Huawei@123", srcManual},       // Huawei devices
	{"Changeme_123", srcManual},     // Huawei devices
	{"huawei", srcManual},           // Huawei devices
	{"cisco", srcManual},            // Cisco
	{"Cisco", srcManual},            // Cisco
	{"Cisco123", srcManual},         // Cisco
	{"epicrouter", srcManual},       // ZyXEL/ZTE DSL routers
	{"zyad1234", srcManual},         // ZyXEL
	{"motorola", srcManual},         // Motorola/Arris cable modems
	{"raspberry", srcManual},        // Raspberry Pi OS
	{"alpine", srcManual},           // jailbroken iOS / Alpine images
	{"private", srcManual},          // SNMP-style default reused as a password
	{"public", srcManual},           // SNMP-style default reused as a password
	{"manager", srcManual},          // HP/3Com switches
	{"operator", srcManual},         // many managed switches
	{"netgear1", srcManual},         // Netgear
	{"t0talc0ntr0l4!", srcAdvisory}, // Control4 controllers
	{"PrOw!aN_fXp", srcAdvisory},    // ZyXEL zyfwp account, CVE-2020-29583
	{"letmein", srcCommon},
	{"qwerty", srcCommon},
	{"abc123", srcCommon},
	{"password1", srcCommon},
	{"passw0rd", srcCommon},
	{"root123", srcCommon},
	{"test", srcCommon},
}
