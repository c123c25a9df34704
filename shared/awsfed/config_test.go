package awsfed

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	valid := map[string]string{
		EnvRoleARN:       "arn:aws:iam::111122223333:role/driftwatch-azure",
		EnvRegion:        "eu-west-1",
		EnvTokenAudience: "api://driftwatch-aws",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string // "" for success
	}{
		{name: "valid", env: valid},
		{name: "GovCloud role", env: with(EnvRoleARN, "arn:aws-us-gov:iam::111122223333:role/path/to/role")},
		{name: "audience as a client id", env: with(EnvTokenAudience, "6f1c3a9e-2b4d-4e8f-9a0b-1c2d3e4f5a6b")},
		{name: "nothing set", env: map[string]string{}, wantErr: "awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN is not set\n" +
			"awsfed: invalid configuration: DRIFTWATCH_AWS_REGION is not set\n" +
			"awsfed: invalid configuration: DRIFTWATCH_AWS_TOKEN_AUDIENCE is not set"},
		{name: "role ARN missing", env: with(EnvRoleARN, ""), wantErr: "awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN is not set"},
		{name: "user ARN", env: with(EnvRoleARN, "arn:aws:iam::111122223333:user/alice"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN "arn:aws:iam::111122223333:user/alice" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`},
		{name: "role name only", env: with(EnvRoleARN, "driftwatch-azure"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN "driftwatch-azure" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`},
		{name: "role without name", env: with(EnvRoleARN, "arn:aws:iam::111122223333:role/"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN "arn:aws:iam::111122223333:role/" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`},
		{name: "short account", env: with(EnvRoleARN, "arn:aws:iam::1111:role/x"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN "arn:aws:iam::1111:role/x" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`},
		{name: "assumed-role ARN", env: with(EnvRoleARN, "arn:aws:sts::111122223333:assumed-role/x/y"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_ROLE_ARN "arn:aws:sts::111122223333:assumed-role/x/y" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`},
		{name: "Region with spaces", env: with(EnvRegion, " eu-west-1"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_REGION " eu-west-1" is not an AWS Region name (like eu-west-1)`},
		{name: "Azure location as Region", env: with(EnvRegion, "westeurope"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_REGION "westeurope" is not an AWS Region name (like eu-west-1)`},
		{name: "audience as a scope", env: with(EnvTokenAudience, "api://driftwatch-aws/.default"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_TOKEN_AUDIENCE "api://driftwatch-aws/.default" is a scope: give the audience itself, without /.default`},
		{name: "audience with a newline", env: with(EnvTokenAudience, "api://driftwatch-aws\n"),
			wantErr: `awsfed: invalid configuration: DRIFTWATCH_AWS_TOKEN_AUDIENCE "api://driftwatch-aws\n" contains white space`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			e, err := FromEnv(func(k string) string { asked = append(asked, k); return tc.env[k] })
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := Env{RoleARN: tc.env[EnvRoleARN], Region: tc.env[EnvRegion], Audience: tc.env[EnvTokenAudience]}
				if e != want {
					t.Errorf("FromEnv = %+v, want %+v", e, want)
				}
				if strings.Join(asked, ",") != EnvRoleARN+","+EnvRegion+","+EnvTokenAudience {
					t.Errorf("read %v", asked)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error = %q\nwant    %q", err, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Error("error does not wrap ErrInvalidConfig")
			}
			if e != (Env{}) {
				t.Errorf("FromEnv returned %+v with an error", e)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	valid := func() Options {
		return Options{Region: "eu-west-1", RoleARN: testRole, RoleSessionName: testSession, TokenSource: TokenFile("/var/run/token")}
	}
	const p = "awsfed: invalid configuration: "
	for _, tc := range []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{name: "zero options", edit: func(o *Options) { *o = Options{} }, wantErr: p + "Region is not set\n" +
			p + "RoleARN is not set\n" + p + "RoleSessionName is not set\n" + p + "TokenSource is nil"},
		{name: "bad Region", edit: func(o *Options) { o.Region = "EU-WEST-1" }, wantErr: p + `Region "EU-WEST-1" is not an AWS Region name (like eu-west-1)`},
		{name: "bad role", edit: func(o *Options) { o.RoleARN = "arn:aws:iam::111122223333:policy/x" },
			wantErr: p + `RoleARN "arn:aws:iam::111122223333:policy/x" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`},
		{name: "session name too short", edit: func(o *Options) { o.RoleSessionName = "x" },
			wantErr: p + `RoleSessionName "x" is not 2 to 64 characters of letters, digits and +=,.@_-`},
		{name: "session name with a slash", edit: func(o *Options) { o.RoleSessionName = "driftwatch/azure" },
			wantErr: p + `RoleSessionName "driftwatch/azure" is not 2 to 64 characters of letters, digits and +=,.@_-`},
		{name: "session name too long", edit: func(o *Options) { o.RoleSessionName = strings.Repeat("a", 65) },
			wantErr: p + `RoleSessionName "` + strings.Repeat("a", 65) + `" is not 2 to 64 characters of letters, digits and +=,.@_-`},
		{name: "duration too short", edit: func(o *Options) { o.Duration = time.Minute }, wantErr: p + "Duration 1m0s is outside [15m0s, 12h0m0s]"},
		{name: "duration too long", edit: func(o *Options) { o.Duration = 13 * time.Hour }, wantErr: p + "Duration 13h0m0s is outside [15m0s, 12h0m0s]"},
		{name: "duration not whole seconds", edit: func(o *Options) { o.Duration = 20*time.Minute + time.Millisecond },
			wantErr: p + "Duration 20m0.001s is not a whole number of seconds"},
		{name: "negative window", edit: func(o *Options) { o.ExpiryWindow = -time.Second }, wantErr: p + "ExpiryWindow -1s is negative"},
		{name: "window as long as the session", edit: func(o *Options) { o.Duration = 20 * time.Minute; o.ExpiryWindow = 20 * time.Minute },
			wantErr: p + "ExpiryWindow 20m0s is not shorter than the session (20m0s): the credentials would be refreshed at every request"},
		{name: "window longer than the default session", edit: func(o *Options) { o.ExpiryWindow = 2 * time.Hour },
			wantErr: p + "ExpiryWindow 2h0m0s is not shorter than the session (1h0m0s): the credentials would be refreshed at every request"},
		{name: "negative timeout", edit: func(o *Options) { o.RefreshTimeout = -1 }, wantErr: p + "RefreshTimeout -1ns is negative"},
		{name: "endpoint without scheme", edit: func(o *Options) { o.BaseEndpoint = "localhost:5000" },
			wantErr: p + `BaseEndpoint "localhost:5000" is not an http(s) URL`},
		{name: "STS endpoint not http", edit: func(o *Options) { o.STSEndpoint = "ftp://sts.example" },
			wantErr: p + `STSEndpoint "ftp://sts.example" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(&o)
			cfg, err := Config(o)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error = %q\nwant    %q", err, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Error("error does not wrap ErrInvalidConfig")
			}
			if cfg.Credentials != nil {
				t.Error("Config returned credentials with an error")
			}
		})
	}
}

// TestConfigDefaults: the defaults a zero field gets, and the fields that
// pass through to the configuration.
func TestConfigDefaults(t *testing.T) {
	o, err := Options{Region: "eu-west-1", RoleARN: testRole, RoleSessionName: testSession, TokenSource: TokenFile("/t")}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.ExpiryWindow != DefaultExpiryWindow || o.RefreshTimeout != DefaultRefreshTimeout || o.Duration != 0 || o.Logger == nil {
		t.Errorf("defaults: window %s, timeout %s, duration %s, logger %v", o.ExpiryWindow, o.RefreshTimeout, o.Duration, o.Logger)
	}
	cfg, err := Config(Options{Region: "us-gov-west-1", RoleARN: testRole, RoleSessionName: testSession,
		TokenSource: TokenFile("/t"), BaseEndpoint: "http://127.0.0.1:5000", Retryer: fastRetryer})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-gov-west-1" || cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:5000" || cfg.Retryer == nil {
		t.Errorf("config: Region %q, BaseEndpoint %v, Retryer set %v", cfg.Region, cfg.BaseEndpoint, cfg.Retryer != nil)
	}
}
