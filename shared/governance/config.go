package governance

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftwatch/driftwatch/shared/posture"
)

// ErrInvalid is matched (errors.Is) by every error Parse and Load return
// for a policy its author can fix. Any other error from Load is about
// reading the file.
var ErrInvalid = errors.New("invalid governance policy")

// ConfigError locates one problem in a policy file. Its text is
// "file:line: field: message", the form editors and CI logs link to.
type ConfigError struct {
	// File is the name given to Parse (the path given to Load).
	File string
	// Line is 1-based; 0 when the problem is with the file as a whole.
	Line int
	// Field is the path of the value at fault ("maintenance_windows[1].end",
	// "rules.aws_s3_bucket_acl_no_public_grants.mode"); empty for problems
	// with the file as a whole.
	Field string
	// Msg says what is wrong and, where it helps, what would be right.
	Msg string
}

// Error formats the problem as "file:line: field: message".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every ConfigError match ErrInvalid.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid }

// Version is the policy file format this package reads.
const Version = 1

// Built-in values for what a file leaves out; the package documentation
// says why each is the safe choice.
const (
	DefaultMode           = Alert
	DefaultApprovalExpiry = 24 * time.Hour
	DefaultAcceptRiskMax  = 90 * 24 * time.Hour
	// DefaultOptOutKey and DefaultOptOutValue form the opt-out tag a
	// policy without an opt_out section honours. The key avoids ':' and
	// upper case so that it is also a valid GCP label.
	DefaultOptOutKey   = "driftwatch-remediation"
	DefaultOptOutValue = "off"
)

// The file as written, before validation. Every scalar is read as a string
// so that validation, not the YAML library, decides what is valid and says
// so with the field's name: the library would silently truncate
// "version: 1.5" into an int and accept "yes" as a bool.
type rawPolicy struct {
	Version            string             `yaml:"version"`
	Defaults           rawDefaults        `yaml:"defaults"`
	Approvers          []rawApprovers     `yaml:"approvers"`
	Rules              map[string]rawRule `yaml:"rules"`
	Overrides          []rawOverride      `yaml:"overrides"`
	HighRiskActions    []string           `yaml:"high_risk_actions"`
	MaintenanceWindows []rawWindow        `yaml:"maintenance_windows"`
	Auto               rawAuto            `yaml:"auto"`
	// OptOut is nil when the section is absent (the default tag applies)
	// and empty for "opt_out: {}" (no opt-out tag at all).
	OptOut     map[string]string `yaml:"opt_out"`
	Identities []rawIdentity     `yaml:"identities"`
}

type rawDefaults struct {
	Mode           string `yaml:"mode"`
	TwoApprovers   string `yaml:"two_approvers"`
	ApprovalExpiry string `yaml:"approval_expiry"`
	AcceptRiskMax  string `yaml:"accept_risk_max"`
	MatchEmail     string `yaml:"match_email"`
}

type rawApprovers struct {
	Severities []string `yaml:"severities"`
	Accounts   []string `yaml:"accounts"`
	Users      []string `yaml:"users"`
	Groups     []string `yaml:"groups"`
}

type rawRule struct {
	Mode         string `yaml:"mode"`
	TwoApprovers string `yaml:"two_approvers"`
}

type rawOverride struct {
	Name         string            `yaml:"name"`
	Accounts     []string          `yaml:"accounts"`
	Tags         map[string]string `yaml:"tags"`
	Rules        []string          `yaml:"rules"`
	Mode         string            `yaml:"mode"`
	TwoApprovers string            `yaml:"two_approvers"`
}

type rawWindow struct {
	Name     string   `yaml:"name"`
	Timezone string   `yaml:"timezone"`
	Days     []string `yaml:"days"`
	Start    string   `yaml:"start"`
	End      string   `yaml:"end"`
}

type rawAuto struct {
	Windows   []string      `yaml:"windows"`
	RateLimit *rawRateLimit `yaml:"rate_limit"`
}

type rawRateLimit struct {
	PerAccount string `yaml:"per_account"`
	Window     string `yaml:"window"`
}

type rawIdentity struct {
	Slack      string   `yaml:"slack"`
	Principals []string `yaml:"principals"`
}

// maxFileSize bounds what Parse reads: real policies are a few kilobytes.
const maxFileSize = 1 << 20

// Load reads and parses the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read governance policy: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a policy file; name is used in error messages. Unknown
// fields, a second YAML document and every invalid value are errors
// matching ErrInvalid, each a *ConfigError; several are joined
// (errors.Join), in the order of their lines.
func Parse(name string, data []byte) (*Policy, error) {
	if len(data) > maxFileSize {
		return nil, &ConfigError{File: name, Msg: fmt.Sprintf("the file has %d bytes; a policy is at most %d", len(data), maxFileSize)}
	}
	// The node tree first: it reports syntax errors, and it knows the line
	// of every field, which the strict decoder below forgets.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err, nil)
	}
	if len(root.Content) == 0 {
		return nil, &ConfigError{File: name, Msg: fmt.Sprintf("empty policy file (start it with \"version: %d\")", Version)}
	}
	c := &checker{file: name, lines: map[string]int{}}
	c.walk(root.Content[0], "")
	if err := c.err(); err != nil {
		// Null list items and keys, which the decoder would drop silently.
		return nil, err
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw rawPolicy
	if err := dec.Decode(&raw); err != nil {
		return nil, yamlError(name, err, c.lines)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &ConfigError{File: name, Line: next.Line, Msg: "more than one YAML document (a policy is one document)"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(name, err, nil)
	}

	p := c.policy(&raw)
	if err := c.err(); err != nil {
		return nil, err
	}
	p.source = name
	return p, nil
}

// checker validates one file, collecting every problem with its line.
type checker struct {
	file string
	// lines maps a field path ("approvers[0].users[1]") to its line.
	lines map[string]int
	errs  []*ConfigError
}

// errf records a problem with field. A field absent from the file (a
// missing value) is reported at the line of its nearest present parent.
func (c *checker) errf(field, format string, args ...any) {
	c.errs = append(c.errs, &ConfigError{File: c.file, Line: c.lineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) lineOf(field string) int {
	for p := field; p != ""; p = parentPath(p) {
		if l, ok := c.lines[p]; ok {
			return l
		}
	}
	return 0
}

// err returns the problems found so far in the order of their lines.
func (c *checker) err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return c.errs[0]
	}
	slices.SortStableFunc(c.errs, func(a, b *ConfigError) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(c.errs))
	for i, e := range c.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// walk records the line of every field under n and reports null list items
// and null keys: the decoder drops both without a word, so "- " left alone
// on a line would silently remove an approver entry or a window.
func (c *checker) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!null" {
				c.errs = append(c.errs, &ConfigError{File: c.file, Line: k.Line, Field: path, Msg: "empty key"})
				continue
			}
			p := joinPath(path, k.Value)
			c.lines[p] = k.Line
			c.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			c.lines[p] = item.Line
			if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
				c.errs = append(c.errs, &ConfigError{File: c.file, Line: item.Line, Field: p, Msg: "empty list item"})
				continue
			}
			c.walk(item, p)
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parentPath strips the last element of a field path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9_]+$`)
	userPattern  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	groupPattern = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	awsAccount   = regexp.MustCompile(`^[0-9]{12}$`)
	azureSub     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	gcpProject   = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
)

// autoUse is one place that sets mode auto; the first one is where a
// missing auto section is reported.
type autoUse struct {
	field string
	line  int
}

// policy validates raw and builds the policy, recording every problem.
func (c *checker) policy(raw *rawPolicy) *Policy {
	p := Default()
	c.version(raw.Version)
	c.defaults(p, raw.Defaults)
	c.approvers(p, raw.Approvers)
	c.rules(p, raw.Rules)
	c.overrides(p, raw.Overrides)
	c.highRisk(p, raw.HighRiskActions)
	c.windows(p, raw.MaintenanceWindows)
	c.auto(p, raw.Auto, raw.MaintenanceWindows)
	c.optOut(p, raw.OptOut)
	c.identities(p, raw.Identities)
	return p
}

func (c *checker) version(v string) {
	switch v = strings.TrimSpace(v); v {
	case "":
		c.errf("version", "missing (this file format is version %d: add \"version: %d\")", Version, Version)
	case strconv.Itoa(Version):
	default:
		c.errf("version", "unsupported version %q (this driftwatch reads version %d)", v, Version)
	}
}

func (c *checker) defaults(p *Policy, rd rawDefaults) {
	if rd.Mode != "" {
		p.mode = c.mode("defaults.mode", rd.Mode)
	}
	if rd.TwoApprovers != "" {
		p.twoApprovers = c.boolean("defaults.two_approvers", rd.TwoApprovers)
	}
	if rd.ApprovalExpiry != "" {
		p.approvalExpiry = c.duration("defaults.approval_expiry", rd.ApprovalExpiry)
	}
	if rd.AcceptRiskMax != "" {
		p.acceptRiskMax = c.duration("defaults.accept_risk_max", rd.AcceptRiskMax)
	}
	if rd.MatchEmail != "" {
		p.matchEmail = c.boolean("defaults.match_email", rd.MatchEmail)
	}
}

func (c *checker) approvers(p *Policy, entries []rawApprovers) {
	for i, ra := range entries {
		f := fmt.Sprintf("approvers[%d]", i)
		var e approverEntry
		if len(ra.Severities) == 0 {
			c.errf(f+".severities", "missing (list the severities this entry approves: critical, high, medium, low, informational)")
		}
		for j, s := range ra.Severities {
			sev, err := posture.ParseSeverity(s)
			if err != nil {
				c.errf(fmt.Sprintf("%s.severities[%d]", f, j), "%s", err.Error())
				continue
			}
			e.severities = append(e.severities, sev)
		}
		e.accounts = c.accounts(f+".accounts", ra.Accounts)
		if len(ra.Users) == 0 && len(ra.Groups) == 0 {
			c.errf(f, "names no users or groups (an approver entry needs at least one Slack user or user group)")
		}
		for j, u := range ra.Users {
			c.slackUser(fmt.Sprintf("%s.users[%d]", f, j), u)
		}
		for j, g := range ra.Groups {
			if !groupPattern.MatchString(g) {
				c.errf(fmt.Sprintf("%s.groups[%d]", f, j), "%q is not a Slack user group id (they start with S, e.g. S0614TZR7)", g)
			}
		}
		e.users, e.groups = slices.Clone(ra.Users), slices.Clone(ra.Groups)
		p.approvers = append(p.approvers, e)
	}
}

func (c *checker) slackUser(f, u string) bool {
	if !userPattern.MatchString(u) {
		c.errf(f, "%q is not a Slack user id (they start with U or W, e.g. U024BE7LH)", u)
		return false
	}
	return true
}

func (c *checker) rules(p *Policy, rules map[string]rawRule) {
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		rr := rules[id]
		f := "rules." + id
		if !idPattern.MatchString(id) {
			c.errf(f, "%q is not a rule id (lower case letters, digits and _)", id)
		}
		p.refs = append(p.refs, reference{kind: refRule, id: id, field: f, line: c.lineOf(f)})
		if rr.Mode == "" && rr.TwoApprovers == "" {
			c.errf(f, "sets neither mode nor two_approvers")
		}
		var s ruleSetting
		if rr.Mode != "" {
			s.mode = c.mode(f+".mode", rr.Mode)
		}
		if rr.TwoApprovers != "" {
			b := c.boolean(f+".two_approvers", rr.TwoApprovers)
			s.twoApprovers = &b
		}
		p.rules[id] = s
	}
}

func (c *checker) overrides(p *Policy, overrides []rawOverride) {
	for i, ro := range overrides {
		f := fmt.Sprintf("overrides[%d]", i)
		o := override{index: i + 1, name: ro.Name, line: c.lineOf(f)}
		o.accounts = c.accounts(f+".accounts", ro.Accounts)
		for _, k := range slices.Sorted(maps.Keys(ro.Tags)) {
			if strings.TrimSpace(k) == "" {
				c.errf(f+".tags", "empty tag key")
			}
		}
		o.tags = maps.Clone(ro.Tags)
		if len(ro.Rules) == 0 {
			c.errf(f+".rules", "missing (list the rule ids this override applies to, or \"*\" for every rule)")
		}
		for j, id := range ro.Rules {
			rf := fmt.Sprintf("%s.rules[%d]", f, j)
			switch {
			case id == "*":
				o.allRules = true
			case idPattern.MatchString(id):
				o.rules = append(o.rules, id)
				p.refs = append(p.refs, reference{kind: refRule, id: id, field: rf, line: c.lineOf(rf)})
			default:
				c.errf(rf, "%q is not a rule id (lower case letters, digits and _) or \"*\"", id)
			}
		}
		if ro.Mode == "" && ro.TwoApprovers == "" {
			c.errf(f, "sets neither mode nor two_approvers")
		}
		if ro.Mode != "" {
			o.mode = c.mode(f+".mode", ro.Mode)
		}
		if ro.TwoApprovers != "" {
			b := c.boolean(f+".two_approvers", ro.TwoApprovers)
			o.twoApprovers = &b
		}
		p.overrides = append(p.overrides, o)
	}
}

func (c *checker) highRisk(p *Policy, actions []string) {
	for i, a := range actions {
		f := fmt.Sprintf("high_risk_actions[%d]", i)
		if !idPattern.MatchString(a) {
			c.errf(f, "%q is not an action name (lower case letters, digits and _)", a)
			continue
		}
		p.highRisk[a] = true
		p.refs = append(p.refs, reference{kind: refAction, id: a, field: f, line: c.lineOf(f)})
	}
}

func (c *checker) windows(p *Policy, windows []rawWindow) {
	for i, rw := range windows {
		f := fmt.Sprintf("maintenance_windows[%d]", i)
		w := c.window(f, rw)
		if w == nil {
			continue
		}
		if prev, dup := p.windows[w.name]; dup {
			c.errf(f+".name", "window %q is already defined at line %d", w.name, prev.line)
			continue
		}
		p.windows[w.name] = w
	}
}

// auto validates the auto section, and that every mode auto has one: auto
// never runs outside a window or without a rate limit, so asking for auto
// without them is a mistake, not a request for approve.
func (c *checker) auto(p *Policy, ra rawAuto, windows []rawWindow) {
	defined := "no maintenance windows are defined"
	if len(windows) > 0 {
		names := make([]string, len(windows))
		for i, w := range windows {
			names[i] = w.Name
		}
		defined = "defined: " + strings.Join(names, ", ")
	}
	for i, name := range ra.Windows {
		f := fmt.Sprintf("auto.windows[%d]", i)
		switch {
		case !slices.ContainsFunc(windows, func(w rawWindow) bool { return w.Name == name }):
			c.errf(f, "unknown maintenance window %q (%s)", name, defined)
		case slices.Contains(p.autoWindows, name):
			c.errf(f, "window %q is listed twice", name)
		default:
			p.autoWindows = append(p.autoWindows, name)
		}
	}
	if rl := ra.RateLimit; rl != nil {
		f := "auto.rate_limit"
		if rl.PerAccount == "" {
			c.errf(f+".per_account", "missing (how many automatic fixes one account may have per window)")
		} else if n, err := strconv.Atoi(rl.PerAccount); err != nil || n < 1 {
			c.errf(f+".per_account", "%q is not a whole number of 1 or more", rl.PerAccount)
		} else {
			p.rate.PerAccount = n
		}
		if rl.Window == "" {
			c.errf(f+".window", "missing (the period per_account counts fixes in, e.g. 1h)")
		} else if d := c.duration(f+".window", rl.Window); d > 0 && d < time.Minute {
			c.errf(f+".window", "%q is shorter than a minute", rl.Window)
		} else {
			p.rate.Window = d
		}
	}

	first := c.firstAuto(p)
	if first == "" {
		return
	}
	if len(ra.Windows) == 0 {
		c.errf(first, "mode auto needs auto.windows (automatic fixes only run inside maintenance windows; %s)", defined)
	}
	if ra.RateLimit == nil {
		c.errf(first, "mode auto needs auto.rate_limit (automatic fixes are limited per account)")
	}
}

// firstAuto returns the field of the first mode auto in the file, or "".
func (c *checker) firstAuto(p *Policy) string {
	var uses []autoUse
	note := func(f string, m Mode) {
		if m == Auto {
			uses = append(uses, autoUse{f, c.lineOf(f)})
		}
	}
	note("defaults.mode", p.mode)
	for id, r := range p.rules {
		note("rules."+id+".mode", r.mode)
	}
	for i, o := range p.overrides {
		note(fmt.Sprintf("overrides[%d].mode", i), o.mode)
	}
	if len(uses) == 0 {
		return ""
	}
	return slices.MinFunc(uses, func(a, b autoUse) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.field, b.field))
	}).field
}

func (c *checker) optOut(p *Policy, tags map[string]string) {
	if tags == nil {
		return // the default opt-out tag stays
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if strings.TrimSpace(k) == "" {
			c.errf("opt_out", "empty tag key")
		}
	}
	p.optOut = maps.Clone(tags)
}

func (c *checker) identities(p *Policy, ids []rawIdentity) {
	seen := map[string]int{}
	for i, ri := range ids {
		f := fmt.Sprintf("identities[%d]", i)
		if ri.Slack == "" {
			c.errf(f+".slack", "missing (the Slack user id these principals belong to)")
		} else if c.slackUser(f+".slack", ri.Slack) {
			if prev, dup := seen[ri.Slack]; dup {
				c.errf(f+".slack", "user %s is already mapped at line %d (list all their principals there)", ri.Slack, prev)
			}
			seen[ri.Slack] = c.lineOf(f + ".slack")
		}
		if len(ri.Principals) == 0 {
			c.errf(f+".principals", "missing (the cloud principals this person acts as: ARNs, user names, emails)")
		}
		for j, pr := range ri.Principals {
			if strings.TrimSpace(pr) == "" {
				c.errf(fmt.Sprintf("%s.principals[%d]", f, j), "empty principal")
				continue
			}
			p.identities[ri.Slack] = append(p.identities[ri.Slack], pr)
		}
	}
}

func (c *checker) mode(f, s string) Mode {
	m, err := ParseMode(s)
	if err != nil {
		c.errf(f, "%s", err.Error())
	}
	return m
}

func (c *checker) boolean(f, s string) bool {
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	c.errf(f, "%q is not true or false", s)
	return false
}

func (c *checker) duration(f, s string) time.Duration {
	d, err := ParseDuration(s)
	if err != nil {
		c.errf(f, "%s", err.Error())
	}
	return d
}

// accounts validates a list of account ids. A typo here would silently
// never match, so an id must look like one of a cloud's account ids.
func (c *checker) accounts(f string, ids []string) []string {
	for i, a := range ids {
		if !awsAccount.MatchString(a) && !azureSub.MatchString(a) && !gcpProject.MatchString(a) {
			c.errf(fmt.Sprintf("%s[%d]", f, i), "%q is not an AWS account id (12 digits), an Azure subscription id or a GCP project id", a)
		}
	}
	return slices.Clone(ids)
}

// ParseDuration reads a duration as time.ParseDuration does, plus the units
// d (24h) and w (7d) that policies and people use for days and weeks:
// "30m", "24h", "90d", "2w", "1d12h". It must be positive.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration (write e.g. 30m, 24h, 7d or 2w)", s)
	if s == "" {
		return 0, bad
	}
	rest := s
	var total time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || (rest[i] != 'd' && rest[i] != 'w') {
			break
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		if err != nil || n > int64(maxDuration/unit) {
			return 0, fmt.Errorf("%q is longer than ten years", s)
		}
		total += time.Duration(n) * unit
		if total > maxDuration {
			return 0, fmt.Errorf("%q is longer than ten years", s)
		}
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		if d < 0 {
			return 0, fmt.Errorf("%q is not a positive duration", s)
		}
		if total+d > maxDuration {
			return 0, fmt.Errorf("%q is longer than ten years", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", s)
	}
	return total, nil
}

// maxDuration bounds ParseDuration far below overflow: ten years.
const maxDuration = 10 * 365 * 24 * time.Hour

var (
	yamlLineErr    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRe  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlMismatchRe = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
	yamlDupKeyRe   = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// yamlError turns the YAML library's errors into ConfigErrors: one per
// message, the line moved to the front, the field named where lines tells
// which it is, and Go type names replaced by what the author wrote.
func yamlError(name string, err error, lines map[string]int) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	// Index the fields by line once: a file can have many errors.
	byLine := map[int][]string{}
	for _, k := range slices.Sorted(maps.Keys(lines)) {
		byLine[lines[k]] = append(byLine[lines[k]], k)
	}
	errs := make([]error, 0, len(msgs))
	for _, m := range msgs {
		ce := &ConfigError{File: name, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLineErr.FindStringSubmatch(m); sm != nil {
			ce.Line, _ = strconv.Atoi(sm[1])
			ce.Msg = sm[2]
		}
		if sm := yamlUnknownRe.FindStringSubmatch(ce.Msg); sm != nil {
			ce.Msg = fmt.Sprintf("unknown field %q", sm[1])
			if key := keyAtLine(byLine, ce.Line, sm[1]); key != "" {
				ce.Field = parentPath(key)
			}
		} else if sm := yamlDupKeyRe.FindStringSubmatch(ce.Msg); sm != nil {
			ce.Msg = fmt.Sprintf("%q is already defined at line %s", sm[1], sm[2])
			if key := keyAtLine(byLine, ce.Line, sm[1]); key != "" {
				ce.Field = parentPath(key)
			}
		} else if sm := yamlMismatchRe.FindStringSubmatch(ce.Msg); sm != nil {
			ce.Msg = fmt.Sprintf("want %s, got %s", describeType(sm[3]), describeValue(sm[1], sm[2]))
			ce.Field = keyAtLine(byLine, ce.Line, "")
		}
		errs = append(errs, ce)
	}
	return errors.Join(errs...)
}

// describeType names a Go type the decoder wanted as the YAML it reads.
func describeType(goType string) string {
	switch {
	case goType == "string":
		return "a single value"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping of key: value"
	}
	// Every struct of the file format is a mapping.
	return "a mapping"
}

// describeValue names a YAML value in an error message.
func describeValue(tag, value string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	return strconv.Quote(value)
}

// keyAtLine finds the field that starts at line: the one named name when
// given, else the most deeply nested one.
func keyAtLine(byLine map[int][]string, line int, name string) string {
	best := ""
	for _, k := range byLine[line] {
		if name != "" {
			if k == name || strings.HasSuffix(k, "."+name) {
				return k
			}
			continue
		}
		if len(k) > len(best) {
			best = k
		}
	}
	return best
}
