package secretshape

import "testing"

func TestAssign(t *testing.T) {
	const generic = `(?i)[\w.-]{0,50}?(?:access|auth|(?-i:[Aa]pi|API)|credential|creds|key|passw(?:or)?d|secret|token)` + AssignSyntax + `[\x60'"\s=]{0,5}([\w.=-]{10,150}|[a-z0-9][a-z0-9+/]{11,}={0,3})(?:[\x60'"\s;]|\\[nr]|$)`
	genericKeywords := []string{"access", "api", "auth", "key", "credential", "creds", "passwd", "password", "secret", "token"}
	for _, c := range []struct {
		name     string
		re       string
		keywords []string
		gated    bool
		anchored bool
	}{
		{"generic", generic, genericKeywords, true, true},
		// A keyword missing from the list: a match could have no
		// keyword before its assignment.
		{"keyword not listed", generic, genericKeywords[1:], false, false},
		// An alternation around the assignment: the other side needs none.
		{"alternation", `(?i)[\w.-]{0,50}?(?:jira)` + AssignSyntax + `([a-z0-9]{24})|\b(ATATT3[A-Za-z0-9_\-=]{186})\b`, []string{"jira", "atatt3"}, false, false},
		// A group string longer than its keyword: gated, but the rest
		// cannot run at the keyword's end.
		{"longer group", `(?i)[\w.-]{0,50}?(?:new-relic|newrelic)` + AssignSyntax + `([a-f0-9]{32})`, []string{"relic"}, true, false},
		// A group whose strings cannot be listed.
		{"any char", `(?i)[\w.-]{0,50}?(?:MailchimpSDK.initialize|mailchimp)` + AssignSyntax + `([a-f0-9]{32}-us\d\d)`, []string{"mailchimp"}, false, false},
		// A capture before the assignment shifts the groups.
		{"capture", `(?i)[\w.-]{0,50}?(?:sonar[_.-]?(login|token))` + AssignSyntax + `([a-z0-9]{40})`, []string{"sonar"}, false, false},
		{"none", `\bghp_[0-9a-zA-Z]{36}`, []string{"ghp_"}, false, false},
	} {
		s := Assign(c.re, c.keywords)
		if s.Gated != c.gated || (s.Suffix != "") != c.anchored {
			t.Errorf("%s: %+v, want gated %v anchored %v", c.name, s, c.gated, c.anchored)
		}
		if c.anchored && (s.Group+s.Suffix != c.re[len(semiGenericPrefix):]) {
			t.Errorf("%s: group and suffix %q %q do not make up the regex", c.name, s.Group, s.Suffix)
		}
	}
}

func TestStartsWithKeyword(t *testing.T) {
	for _, c := range []struct {
		re               string
		keywords         []string
		starts, boundary bool
	}{
		{`\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`, []string{"a3t", "akia", "asia", "abia", "acca"}, true, true},
		{`ghp_[0-9a-zA-Z]{36}`, []string{"ghp_"}, true, false},
		{`xox[os]-\d+-\d+-\d+-[a-fA-F\d]+`, []string{"xoxo", "xoxs"}, true, false},
		{`xox[os]-\d+`, []string{"xoxo"}, false, false},
		{`(?i)[a-z0-9]{14}\.(?-i:atlasv1)\.[a-z0-9\-_=]{60,70}`, []string{"atlasv1"}, false, false},
		{`(?:^|[^a-z])(ghp_[a-z]{36})`, []string{"ghp_"}, false, false},
	} {
		starts, boundary := StartsWithKeyword(c.re, c.keywords)
		if starts != c.starts || boundary != c.boundary {
			t.Errorf("%s: starts %v boundary %v, want %v %v", c.re, starts, boundary, c.starts, c.boundary)
		}
	}
}
