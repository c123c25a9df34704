package awsfed

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The environment variables FromEnv reads (Azure Function app settings).
const (
	// EnvRoleARN is the IAM role the function assumes, whose trust policy
	// admits its identity: arn:aws:iam::<account>:role/<name>.
	EnvRoleARN = "DRIFTWATCH_AWS_ROLE_ARN"
	// EnvRegion is the AWS Region of the posture table, also used for the
	// regional STS endpoint: eu-west-1, say.
	EnvRegion = "DRIFTWATCH_AWS_REGION"
	// EnvTokenAudience is the audience of the identity token: for Azure, the
	// application ID URI of the Entra application the token is issued for
	// (api://driftwatch-aws, say), which is also the audience (client ID)
	// of the AWS IAM OIDC provider and the value of the trust policy's :aud
	// condition. It is the token's aud claim, not a scope: no "/.default".
	EnvTokenAudience = "DRIFTWATCH_AWS_TOKEN_AUDIENCE"
)

// Env is the federation configuration of a function, read from its
// environment by FromEnv.
type Env struct {
	// RoleARN is the value of DRIFTWATCH_AWS_ROLE_ARN.
	RoleARN string
	// Region is the value of DRIFTWATCH_AWS_REGION.
	Region string
	// Audience is the value of DRIFTWATCH_AWS_TOKEN_AUDIENCE, for the token
	// source (azuremi.New).
	Audience string
}

// FromEnv reads and validates the three variables through getenv
// (os.Getenv in main). Every missing or invalid one is reported, each as an
// error wrapping ErrInvalidConfig.
func FromEnv(getenv func(string) string) (Env, error) {
	e := Env{RoleARN: getenv(EnvRoleARN), Region: getenv(EnvRegion), Audience: getenv(EnvTokenAudience)}
	var errs []error
	for _, err := range []error{
		checkRoleARN(EnvRoleARN, e.RoleARN),
		checkRegion(EnvRegion, e.Region),
		CheckAudience(EnvTokenAudience, e.Audience),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Env{}, joinErrors(errs)
	}
	return e, nil
}

// regionRE matches AWS Region names: us-east-1, eu-central-2,
// us-gov-west-1, cn-north-1, ap-southeast-5.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// sessionNameRE is STS's RoleSessionName pattern with its length bounds.
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// accountRE is a 12-digit AWS account id.
var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

func checkRegion(name, v string) error {
	switch {
	case v == "":
		return invalid("%s is not set", name)
	case !regionRE.MatchString(v):
		return invalid("%s %q is not an AWS Region name (like eu-west-1)", name, v)
	}
	return nil
}

func checkRoleARN(name, v string) error {
	if v == "" {
		return invalid("%s is not set", name)
	}
	a, err := arn.Parse(v)
	if err != nil || a.Service != "iam" || a.Region != "" || !accountRE.MatchString(a.AccountID) ||
		!strings.HasPrefix(a.Resource, "role/") || len(a.Resource) == len("role/") {
		return invalid("%s %q is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", name, v)
	}
	return nil
}

func checkSessionName(v string) error {
	switch {
	case v == "":
		return invalid("RoleSessionName is not set")
	case !sessionNameRE.MatchString(v):
		return invalid("RoleSessionName %q is not 2 to 64 characters of letters, digits and +=,.@_-", v)
	}
	return nil
}

func checkEndpoint(name, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("%s %q is not an http(s) URL", name, v)
	}
	return nil
}

// CheckAudience validates a token audience named name (a variable or
// option name, for the message): set, without white space, and not a scope
// (a "/.default" suffix), since it must equal the token's aud claim that
// the AWS side compares.
func CheckAudience(name, v string) error {
	switch {
	case v == "":
		return invalid("%s is not set", name)
	case strings.ContainsFunc(v, unicode.IsSpace):
		return invalid("%s %q contains white space", name, v)
	case strings.HasSuffix(v, "/.default"):
		return invalid("%s %q is a scope: give the audience itself, without /.default", name, v)
	}
	return nil
}
